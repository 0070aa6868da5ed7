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
from stream.cms.authentication import AuthScheme

_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DEFAULT_AUTH = {CmsKind.CONTENTFUL: AuthScheme.CONTENTFUL, CmsKind.STRAPI: AuthScheme.STRAPI_TOKEN}


class CmsSourceConfig(BaseModel):
    """One webhook sender: its payload kind and the secret it signs bodies with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CmsKind
    secret: SecretStr
    """The shared key: the Standard Webhooks secret (``whsec_…``, or any string used as
    key bytes), Contentful's signing secret, or Strapi's token (``openssl rand -hex 32``)."""
    auth: AuthScheme | None = None
    """How requests prove their sender (:mod:`stream.cms.authentication`); by default
    ``contentful`` for Contentful, ``strapi-token`` for Strapi, else
    ``standard-webhooks``. ``mmrag-hmac`` keeps the first, timestamp-less scheme."""
    base_url: str | None = None
    """Resolves relative media URLs (Strapi's ``/uploads/…``, relative ``<img src>``)."""
    locale: str = "en-US"
    """Contentful: the locale whose field values are indexed (else each field's first)."""
    acl: tuple[str, ...] = ()
    """Readers of this source's documents (empty: public); a generic event may override."""

    @property
    def auth_scheme(self) -> AuthScheme:
        if self.auth is not None:
            return self.auth
        return _DEFAULT_AUTH.get(self.kind, AuthScheme.STANDARD_WEBHOOKS)

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
    """Event ids (and message ids) remembered as accepted, so a redelivered webhook is not
    produced twice."""
    mapping_threads: Annotated[int, Field(gt=0, le=32)] = 2
    """Threads that parse and map bodies, off the event loop (so ``/health`` and other
    requests are answered while a large body is mapped)."""

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
