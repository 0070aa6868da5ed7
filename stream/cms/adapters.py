"""Webhook payloads → change events, one adapter per CMS kind.

Every adapter is a pure function ``(payload, headers, context) -> list[ChangeEvent]`` that
raises :class:`PayloadError` for anything it cannot map. The rules they share (ids,
revisions, "nothing to index", the inline-text bound) live in :mod:`stream.cms.payloads`;
each CMS's shape is described in its own module:

- :mod:`stream.cms.generic` — our own format, for any CMS or script;
- :mod:`stream.cms.wordpress` — REST API post objects (and plugin envelopes);
- :mod:`stream.cms.strapi` — Strapi 4/5 ``entry.*`` webhooks;
- :mod:`stream.cms.contentful` — Contentful entry and asset webhooks.

Events carry ``source = "cms:<source_name>"``, ``doc_id = derive_doc_id(source, key)``
with the CMS's own id as key, and ``event_id = derive_event_id(source, doc_id, op,
revision)``, so a redelivered webhook maps to the same event ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from indexer.events import ChangeEvent
from stream.cms.contentful import contentful_events
from stream.cms.generic import generic_events
from stream.cms.payloads import PayloadError, SourceContext, describe_validation, json_type
from stream.cms.revisions import RevisionSequencer
from stream.cms.strapi import strapi_events
from stream.cms.wordpress import wordpress_events

Adapter = Callable[[Mapping[str, Any], Mapping[str, str], SourceContext], list[ChangeEvent]]


class CmsKind(StrEnum):
    """Which payload shape a source sends."""

    GENERIC = "generic"
    WORDPRESS = "wordpress"
    STRAPI = "strapi"
    CONTENTFUL = "contentful"


ADAPTERS: Mapping[CmsKind, Adapter] = {
    CmsKind.GENERIC: generic_events,
    CmsKind.WORDPRESS: wordpress_events,
    CmsKind.STRAPI: strapi_events,
    CmsKind.CONTENTFUL: contentful_events,
}


def to_change_events(
    kind: CmsKind,
    source_name: str,
    payload: object,
    headers: Mapping[str, str],
    now: datetime,
    *,
    base_url: str | None = None,
    locale: str = "en-US",
    acl: tuple[str, ...] = (),
    revisions: RevisionSequencer | None = None,
) -> list[ChangeEvent]:
    """Map one parsed webhook body to the change events it stands for, in order.

    ``payload`` is the parsed JSON (anything but an object is refused); ``headers`` are
    the request's (Contentful names its event in one); ``now`` becomes ``emitted_at``.
    ``base_url`` resolves relative media URLs, ``locale`` picks Contentful's field
    values, ``acl`` is the readers of the source's documents (empty: public),
    ``revisions`` orders changes that share a one-second timestamp (WordPress).
    Raises :class:`PayloadError` with the reason when the body cannot be mapped.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError(f"the body must be a JSON object, not {json_type(payload)}")
    context = SourceContext(
        source_name, now, base_url=base_url, locale=locale, acl=acl, revisions=revisions
    )
    try:
        return ADAPTERS[CmsKind(kind)](payload, headers, context)
    except RecursionError as error:
        raise PayloadError("the body is nested too deeply to map") from error
    except ValidationError as error:  # a mapped value breaks the contract (e.g. a long title)
        raise PayloadError(f"not a valid change event: {describe_validation(error)}") from error


__all__ = [
    "ADAPTERS",
    "CmsKind",
    "PayloadError",
    "contentful_events",
    "generic_events",
    "strapi_events",
    "to_change_events",
    "wordpress_events",
]
