"""Settings of the CMS ingress (stream.cms.settings)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stream.cms import CmsKind, CmsSettings


def test_settings_read_sources_from_json_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "MMRAG_CMS_SOURCES",
        json.dumps(
            {
                "blog": {"kind": "wordpress", "secret": "s", "base_url": "https://b.test"},
                "docs": {"kind": "contentful", "secret": "t", "locale": "de-DE", "acl": ["g"]},
            }
        ),
    )
    monkeypatch.setenv("MMRAG_CMS_PORT", "8200")
    loaded = CmsSettings()
    assert loaded.sources["blog"].kind is CmsKind.WORDPRESS
    assert loaded.sources["blog"].secret.get_secret_value() == "s"
    assert "'s'" not in repr(loaded)
    assert loaded.sources["docs"].acl == ("g",)
    assert loaded.port == 8200
    assert (loaded.max_body_bytes, loaded.idempotency_cache_size) == (2_000_000, 10_000)


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"Blog Site": {"kind": "generic", "secret": "s"}}, "source name 'Blog Site'"),
        ({"blog": {"kind": "generic", "secret": " "}}, "the secret must not be empty"),
        ({"blog": {"kind": "drupal", "secret": "s"}}, "kind"),
    ],
)
def test_settings_refuse_bad_sources(sources: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CmsSettings.model_validate({"sources": sources})
