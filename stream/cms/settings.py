"""Settings of the CMS ingress (env prefix ``MMRAG_CMS_``).

Sources are configured as JSON in ``MMRAG_CMS_SOURCES``, one entry per webhook sender::

    MMRAG_CMS_SOURCES='{"blog": {"kind": "wordpress", "secret": "…",
                                 "base_url": "https://blog.example.com"}}'

A source named ``blog`` receives at ``POST /webhooks/blog`` and its documents get the
source ``cms:blog``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.cms.adapters import CmsKind

_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class CmsSourceConfig(BaseModel):
    """One webhook sender: its payload kind and the secret it signs bodies with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CmsKind
    secret: SecretStr
    """Shared HMAC-SHA256 key (e.g. ``openssl rand -hex 32``); bodies are signed with it."""
    base_url: str | None = None
    """Resolves relative media URLs (Strapi's ``/uploads/…``, relative ``<img src>``)."""
    locale: str = "en-US"
    """Contentful: the locale whose field values are indexed (else each field's first)."""
    acl: tuple[str, ...] = ()
    """Readers of this source's documents (empty: public); a generic event may override."""

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the secret must not be empty")
        return value


class CmsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MMRAG_CMS_", extra="ignore")

    sources: dict[str, CmsSourceConfig] = Field(default_factory=dict)
    max_body_bytes: Annotated[int, Field(gt=0)] = 2_000_000
    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] = 8100
    idempotency_cache_size: Annotated[int, Field(ge=0)] = 10_000
    """Event ids remembered as accepted, so a redelivered webhook is not produced twice."""

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, CmsSourceConfig]) -> dict[str, CmsSourceConfig]:
        for name in value:
            if not _SOURCE_NAME.match(name):
                raise ValueError(
                    f"source name {name!r} must be lowercase letters, digits, '-' or '_' "
                    "(it is part of the URL and of the documents' source)"
                )
        return value
