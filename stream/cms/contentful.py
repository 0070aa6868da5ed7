"""Contentful webhooks: the topic is in ``X-Contentful-Topic``, the entity in the body.

Topic ``ContentManagement.<Entry|Asset>.<action>``:

- ``publish`` → upsert; ``unpublish``, ``delete``, ``archive`` → delete (the body is then a
  ``DeletedEntry``/``DeletedAsset`` with only ``sys``);
- ``create``, ``save``, ``auto_save``, ``unarchive`` → refused: drafts are not indexed.

Body: ``{"sys": {"id", "type", "revision", "updatedAt", "contentType": {"sys": {"id"}}},
"fields": {name: {locale: value}}}``. Each field takes the source's locale (default
``en-US``), else its first locale. An entry's text is its string fields (markdown kept) and
rich-text documents, in field order (markdown images the indexer cannot resolve from the
text become assets; links to assets in
rich text are not resolved); ``title`` (or ``name``) is also the title; a ``url``
field is its public URL. A published asset becomes a document whose ``uri`` is its file
(``//`` URLs get ``https:``), with the file itself as its single asset. The key is
``sys.id`` (``asset/<sys.id>`` for assets); the revision is ``sys.revision``, else
``sys.updatedAt`` in epoch ms.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from indexer.events import ChangeEvent, DocumentMetadata
from stream.cms.payloads import (
    Content,
    PayloadError,
    SourceContext,
    delete_event,
    epoch_ms,
    header_value,
    make_asset,
    markdown_assets,
    optional_text,
    public_url,
    require_id,
    require_mapping,
    upsert_event,
)
from stream.cms.rich_text import (
    CONTENTFUL_RICH_TEXT,
    is_contentful_document,
    markdown_images,
    rich_text_lines,
)

TOPIC_HEADER = "X-Contentful-Topic"
DELETE_ACTIONS = frozenset({"unpublish", "delete", "archive"})
DRAFT_ACTIONS = frozenset({"create", "save", "auto_save", "unarchive"})
_NOT_TEXT_FIELDS = frozenset({"slug", "url", "tags"})
_TITLE_FIELDS = ("title", "name", "headline")


def contentful_events(
    payload: Mapping[str, Any], headers: Mapping[str, str], context: SourceContext
) -> list[ChangeEvent]:
    """Map one Contentful webhook (entry or asset) to one change event."""
    topic = header_value(headers, TOPIC_HEADER)
    entity, action = _topic(topic)
    sys = require_mapping(payload.get("sys"), "Contentful 'sys'")
    entity_id = require_id(sys.get("id"), "sys.id")
    key = entity_id if entity == "Entry" else f"asset/{entity_id}"
    revision = _revision(sys)
    if action in DELETE_ACTIONS:
        return [delete_event(context, key, revision)]
    if action in DRAFT_ACTIONS:
        raise PayloadError(
            f"{topic} is not a published change (drafts are not indexed): subscribe the "
            "webhook to publish, unpublish, archive and delete"
        )
    if action != "publish":
        raise PayloadError(f"unknown Contentful action in topic {topic!r}")
    fields = _localized_fields(payload.get("fields"), context.locale)
    if entity == "Asset":
        return [_asset_event(context, key, revision, fields)]
    return [_entry_event(context, key, revision, fields, sys)]


def _topic(topic: str | None) -> tuple[str, str]:
    """``(entity, action)`` of ``ContentManagement.Entry.publish``."""
    if not topic:
        raise PayloadError(f"missing {TOPIC_HEADER} header (e.g. ContentManagement.Entry.publish)")
    parts = topic.strip().split(".")
    if len(parts) < 3 or parts[-2] not in {"Entry", "Asset"}:
        raise PayloadError(f"topic {topic!r} is not about an Entry or an Asset")
    return parts[-2], parts[-1]


def _revision(sys: Mapping[str, Any]) -> int:
    revision = sys.get("revision")
    if isinstance(revision, int) and not isinstance(revision, bool) and revision >= 0:
        return revision
    if revision is not None:
        raise PayloadError(f"sys.revision must be a non-negative integer, not {revision!r}")
    return epoch_ms(sys.get("updatedAt") or sys.get("deletedAt"), "sys.updatedAt")


def _localized_fields(fields: object, locale: str) -> dict[str, tuple[object, str]]:
    """Each field's value in ``locale`` (else its first locale), with the locale used."""
    if fields is None:
        return {}
    localized: dict[str, tuple[object, str]] = {}
    for name, values in require_mapping(fields, "Contentful 'fields'").items():
        if not isinstance(values, Mapping) or not values:
            raise PayloadError(f"field {name!r} must be an object of locale → value")
        chosen = locale if locale in values else next(iter(values))
        localized[name] = (values[chosen], chosen)
    return localized


def _field(fields: Mapping[str, tuple[object, str]], name: str) -> object:
    """The localized value of field ``name``, None when the entry lacks it."""
    return fields[name][0] if name in fields else None


def _entry_event(
    context: SourceContext,
    key: str,
    revision: int,
    fields: Mapping[str, tuple[object, str]],
    sys: Mapping[str, Any],
) -> ChangeEvent:
    uri = public_url(_field(fields, "url"))
    title = next(
        (t for name in _TITLE_FIELDS if (t := optional_text(_field(fields, name)))),
        None,
    )
    tags = _field(fields, "tags")
    metadata = DocumentMetadata(
        title=title,
        tags=tuple(tag for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else (),
        url=uri,
        language=next((chosen for _, chosen in fields.values()), None),
        extra={"contentful_content_type": _content_type_id(sys)},
    )
    text = "\n\n".join(part for part in _text_parts(fields) if part)
    images = markdown_assets(markdown_images(text), context, uri)
    content = Content.of_text(text, "text/markdown", images)
    return upsert_event(context, key, revision, uri=uri, content=content, metadata=metadata)


def _text_parts(fields: Mapping[str, tuple[object, str]]) -> Iterator[str]:
    for name, (value, _) in fields.items():
        if name in _NOT_TEXT_FIELDS:
            continue
        if isinstance(value, str) and public_url(value) is None:
            yield value.strip()
        elif is_contentful_document(value):
            yield "\n".join(rich_text_lines(value, CONTENTFUL_RICH_TEXT))


def _content_type_id(sys: Mapping[str, Any]) -> str | None:
    content_type = sys.get("contentType")
    inner = content_type.get("sys") if isinstance(content_type, Mapping) else None
    return optional_text(inner.get("id")) if isinstance(inner, Mapping) else None


def _asset_event(
    context: SourceContext, key: str, revision: int, fields: Mapping[str, tuple[object, str]]
) -> ChangeEvent:
    file = _field(fields, "file")
    if not isinstance(file, Mapping) or not optional_text(file.get("url")):
        raise PayloadError(f"asset {key!r} has no fields.file.url (was it processed?)")
    uri = context.absolute_url(str(file["url"]))
    media_type = optional_text(file.get("contentType"))
    title = optional_text(_field(fields, "title"))
    description = optional_text(_field(fields, "description"))
    image = make_asset(uri, content_type=media_type, alt=description or title)
    metadata = DocumentMetadata(
        title=title,
        url=uri,
        language=fields["file"][1],
        extra={"file_name": optional_text(file.get("fileName"))},
    )
    content = Content(content_type=media_type, assets=(image,))
    return upsert_event(context, key, revision, uri=uri, content=content, metadata=metadata)
