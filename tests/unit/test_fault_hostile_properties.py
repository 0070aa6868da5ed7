"""Property-based: the fault suite's hostile inputs against the pure boundaries they meet.

The same hypothesis strategies that ``mmrag bench faults`` sends through Kafka and HTTP
are checked here without services: the event contract and the webhook mapping must take
any of them to a result or to their own typed refusal with a reason, never to another
exception, and a webhook may never produce an event that names a local file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings

from bench.faults.hostile import (
    EVENT_BYTES,
    FILES,
    LOCAL_REFERENCES,
    WEBHOOK_BODIES,
    generate,
)
from indexer.events import ChangeEvent, InvalidEvent, decode_change_event
from stream.cms.adapters import CmsKind, to_change_events
from stream.cms.payloads import PayloadError

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


@QUICK
@given(EVENT_BYTES)
def test_any_record_on_the_changes_topic_decodes_or_is_refused_with_a_reason(raw: bytes) -> None:
    outcome: ChangeEvent | InvalidEvent
    try:
        outcome = decode_change_event(raw)
    except InvalidEvent as error:
        outcome = error
    assert isinstance(outcome, ChangeEvent) or str(outcome).strip()


def _names_a_local_file(uri: str) -> bool:
    """A ``file:`` URI or a bare path (no scheme at all)."""
    return urlsplit(uri.strip()).scheme.lower() in {"", "file"}


@QUICK
@given(WEBHOOK_BODIES)
def test_any_webhook_body_maps_to_remote_events_or_is_refused_with_a_reason(body: bytes) -> None:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return  # the ingress answers 422 before mapping (its own integration tests)
    try:
        events = to_change_events(CmsKind.GENERIC, "fuzz", payload, {}, NOW)
    except PayloadError as error:
        refusal = str(error)
        assert refusal.strip()
        return
    for event in events:
        assert event.source == "cms:fuzz"
        assert not any(_names_a_local_file(asset.uri) for asset in event.assets), event.assets
        assert not _names_a_local_file(event.uri)


def test_generate_is_reproducible_and_gives_what_was_asked() -> None:
    first = generate(FILES, 40, random_seed=5)
    assert len(first) == 40
    assert first == generate(FILES, 40, random_seed=5)
    assert {item.name.rsplit(".", 1)[1] for item in first} <= {
        "md",
        "html",
        "txt",
        "pdf",
        "png",
        "jpg",
    }


def test_local_references_cover_files_and_metadata_endpoints() -> None:
    assert any(reference.startswith("file://") for reference in LOCAL_REFERENCES)
    assert any("169.254.169.254" in reference for reference in LOCAL_REFERENCES)
