"""The CMS ingress: ``POST /webhooks/{source}`` turns authenticated CMS webhooks (generic,
WordPress, Strapi, Contentful) into change events on Kafka.

The adapters are pure (payload → :class:`~indexer.events.ChangeEvent`s); the app checks
the sender (:mod:`stream.cms.authentication`), maps off the event loop, produces with
acks=all and only then answers 202. See
``docs/cms-webhooks.md`` for the formats, signing and status codes.
"""

from __future__ import annotations

from stream.cms.adapters import CmsKind, to_change_events
from stream.cms.app import create_app
from stream.cms.authentication import (
    AuthScheme,
    contentful_headers,
    standard_webhook_headers,
)
from stream.cms.payloads import PayloadError
from stream.cms.settings import CmsSettings, CmsSourceConfig
from stream.cms.signatures import SIGNATURE_HEADER, sign, verify

__all__ = [
    "SIGNATURE_HEADER",
    "AuthScheme",
    "CmsKind",
    "CmsSettings",
    "CmsSourceConfig",
    "PayloadError",
    "contentful_headers",
    "create_app",
    "sign",
    "standard_webhook_headers",
    "to_change_events",
    "verify",
]
