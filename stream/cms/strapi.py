"""Strapi 4 and 5 webhooks: ``{"event", "createdAt", "model", "uid", "entry": {...}}``.

- ``entry.publish`` → upsert; ``entry.unpublish`` and ``entry.delete`` → delete.
- ``entry.create`` / ``entry.update`` → upsert when the entry is public. With Draft &
  Publish on, a Strapi 4 entry whose ``publishedAt`` is null is not public → delete.
  Strapi 5 keeps a draft *beside* the published version and sends the draft on
  create/update, so a Strapi 5 draft (``documentId`` present, ``publishedAt`` null) is
  refused as "not a published change" rather than deleting the live version; its
  publish and unpublish arrive as their own events.
- ``media.*`` events are refused: they are not entries.

The key is ``documentId`` (Strapi 5; ``documentId@locale`` for a localised entry, since
all locales share the document id) or ``<model>/<id>`` (Strapi 4). The revision is the
entry's ``updatedAt`` in epoch ms; a delete takes the webhook's own ``createdAt`` when
later (an unpublish carries the draft, which can be older than the published version).

Text: string fields named like title/name/content/body/description/summary (markdown
kept as is) and "blocks" rich text, in field order, walking into components and dynamic
zones. Images: media objects (``url`` + ``mime: image/*``) anywhere in the entry, then
the markdown images (``![alt](url)``) of the text that the indexer cannot resolve from
the text itself (:func:`~stream.cms.payloads.markdown_assets`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from indexer.events import Asset, ChangeEvent, DocumentMetadata
from stream.cms.payloads import (
    Content,
    PayloadError,
    SourceContext,
    delete_event,
    epoch_ms,
    make_asset,
    markdown_assets,
    optional_text,
    public_url,
    require_id,
    require_mapping,
    upsert_event,
)
from stream.cms.rich_text import (
    STRAPI_BLOCKS,
    is_strapi_blocks,
    markdown_images,
    rich_text_lines,
)

UPSERT_EVENTS = frozenset({"entry.create", "entry.update", "entry.publish"})
DELETE_EVENTS = frozenset({"entry.unpublish", "entry.delete"})
_TEXT_FIELD = re.compile(
    r"title|name|content|body|description|summary|text|excerpt|abstract|intro|lead|heading",
    re.IGNORECASE,
)
_NOT_CONTENT = frozenset(
    {
        "id", "documentId", "createdAt", "updatedAt", "publishedAt", "locale",
        "localizations", "createdBy", "updatedBy", "slug", "url", "uid", "__component",
        "tags", "author",
    }
)  # fmt: skip
_TITLE_FIELDS = ("title", "name", "headline", "heading")


def strapi_events(
    payload: Mapping[str, Any], headers: Mapping[str, str], context: SourceContext
) -> list[ChangeEvent]:
    """Map one Strapi webhook to one change event."""
    del headers  # Strapi says everything in the body
    event = _event_name(payload)
    model = require_id(payload.get("model"), "Strapi 'model'")
    entry = require_mapping(payload.get("entry"), "Strapi 'entry'")
    key = _entry_key(model, entry)
    revision = epoch_ms(entry.get("updatedAt"), "entry updatedAt")
    uri = public_url(entry.get("url"))
    draft = "publishedAt" in entry and entry["publishedAt"] is None
    if event in DELETE_EVENTS or (draft and "documentId" not in entry):
        revision = max(revision, _emitted_ms(payload))
        return [delete_event(context, key, revision, uri=uri)]
    if draft:
        raise PayloadError(
            f"{event} of {key!r} is a draft (publishedAt is null), not a published change: "
            "Strapi 5 sends entry.publish and entry.unpublish when what is public changes"
        )
    text = _text(entry)
    assets = [_asset(media, context) for media in _media(entry)]
    assets += markdown_assets(markdown_images(text), context, uri)
    content = Content.of_text(text, "text/markdown", assets)
    metadata = DocumentMetadata(
        title=_title(entry),
        tags=_tags(entry.get("tags")),
        author=_label(entry.get("author")),
        url=uri,
        language=optional_text(entry.get("locale")),
        extra={"strapi_model": model},
    )
    return [upsert_event(context, key, revision, uri=uri, content=content, metadata=metadata)]


def _event_name(payload: Mapping[str, Any]) -> str:
    event = payload.get("event")
    if not isinstance(event, str):
        raise PayloadError("Strapi body has no 'event' (expected e.g. 'entry.publish')")
    if event.startswith("media."):
        raise PayloadError(
            f"{event!r} is a media library event, not an entry: images are indexed with the "
            "entries that use them, so send only entry.* events"
        )
    if event not in UPSERT_EVENTS | DELETE_EVENTS:
        known = ", ".join(sorted(UPSERT_EVENTS | DELETE_EVENTS))
        raise PayloadError(f"unknown Strapi event {event!r} (expected one of {known})")
    return event


def _entry_key(model: str, entry: Mapping[str, Any]) -> str:
    if "documentId" in entry:
        document_id = require_id(entry["documentId"], "entry documentId")
        locale = optional_text(entry.get("locale"))
        return f"{document_id}@{locale}" if locale else document_id
    return f"{model}/{require_id(entry.get('id'), 'entry id')}"


def _emitted_ms(payload: Mapping[str, Any]) -> int:
    """When Strapi emitted the webhook (its top-level ``createdAt``), 0 if not given."""
    created = payload.get("createdAt")
    return 0 if created is None else epoch_ms(created, "webhook createdAt")


def _text(entry: Mapping[str, Any]) -> str:
    return "\n\n".join(part for part in _text_parts(entry) if part)


def _text_parts(node: Mapping[str, Any]) -> Iterator[str]:
    for name, value in node.items():
        if name in _NOT_CONTENT or _is_media(value):
            continue
        if isinstance(value, str):
            if _TEXT_FIELD.search(name):
                yield value.strip()
        elif is_strapi_blocks(value):
            yield "\n".join(rich_text_lines(value, STRAPI_BLOCKS))
        elif isinstance(value, Mapping):
            yield from _text_parts(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping) and not _is_media(item):
                    yield from _text_parts(item)


def _is_media(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("url"), str) and "mime" in value


def _media(node: object) -> Iterator[Mapping[str, Any]]:
    """Image media objects anywhere in the entry (their ``formats`` are not walked)."""
    if isinstance(node, Mapping):
        if _is_media(node):
            mime = node.get("mime")
            if isinstance(mime, str) and mime.startswith("image/"):
                yield node
            return
        for value in node.values():
            yield from _media(value)
    elif isinstance(node, list):
        for item in node:
            yield from _media(item)


def _asset(media: Mapping[str, Any], context: SourceContext) -> Asset:
    return make_asset(
        context.absolute_url(media["url"]),
        content_type=optional_text(media.get("mime")),
        alt=media.get("alternativeText"),
        caption=media.get("caption"),
    )


def _title(entry: Mapping[str, Any]) -> str | None:
    for name in _TITLE_FIELDS:
        title = optional_text(entry.get(name))
        if title:
            return title
    return None


def _label(value: object) -> str | None:
    """A relation's display name (``name``, ``title``, ``username``) or a plain string."""
    if isinstance(value, Mapping):
        return next(
            (
                label
                for field in ("name", "title", "username")
                if (label := optional_text(value.get(field)))
            ),
            None,
        )
    return optional_text(value)


def _tags(value: object) -> tuple[str, ...]:
    """Tags as strings, or as related entries' names."""
    if not isinstance(value, list):
        return ()
    return tuple(label for item in value if (label := _label(item)))
