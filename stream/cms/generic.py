"""The generic webhook format: what any CMS (or script) can send without an adapter.

The body is one event object, or ``{"events": [ ... ]}`` with up to 1000 of them::

    {
      "id": "article-42",                      # the CMS's id (string or integer), required
      "action": "publish",                     # publish | update | create  -> upsert
                                               # unpublish | delete | archive -> delete
      "revision": 17,                          # monotonic integer per entry, or instead:
      "updated_at": "2026-11-25T12:00:00Z",    # ISO 8601 with a zone (revision = epoch ms)
      "title": "Streaming indexers",
      "html": "<p>…</p>",                      # or "text": "…" (not both)
      "content_type": "text/markdown",         # for "text": text/plain (default) or markdown
      "url": "https://example.com/articles/42",
      "tags": ["kafka", "search"],
      "author": "Ada",
      "language": "en",
      "acl": ["group:staff"],                  # readers; default: the source's acl
      "images": [{"url": "https://…/cover.jpg", "alt": "…", "caption": "…"}]
    }

Unknown fields are refused (so a misspelt ``revison`` is an error, not a silent default).
``html`` is sent as HTML (``text/html``): the indexer reads it once, its headings become
sections and its ``<img>`` image parts. Relative image URLs (in ``html`` and ``images``)
resolve against ``url``, else the source's ``base_url``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from indexer.events import ChangeEvent, DocumentMetadata
from stream.cms.html_text import prepare_html
from stream.cms.payloads import (
    Content,
    PayloadError,
    SourceContext,
    delete_event,
    describe_validation,
    make_asset,
    milliseconds_since_epoch,
    public_url,
    upsert_event,
)

UPSERT_ACTIONS = frozenset({"publish", "update", "create"})
DELETE_ACTIONS = frozenset({"unpublish", "delete", "archive"})
MAX_EVENTS_PER_BODY = 1000

Text = Annotated[str, StringConstraints(strict=True)]
Identifier = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024)]


class GenericImage(BaseModel):
    """An image of the entry: ``{"url", "alt", "caption"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Identifier
    alt: Text | None = None
    caption: Text | None = None


class GenericEntry(BaseModel):
    """One change in the generic format (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier | StrictInt
    action: Literal["publish", "update", "create", "unpublish", "delete", "archive"]
    revision: Annotated[StrictInt, Field(ge=0)] | None = None
    updated_at: AwareDatetime | None = None
    title: Text | None = None
    html: Text | None = None
    text: Text | None = None
    content_type: Literal["text/plain", "text/markdown"] = "text/plain"
    url: Text | None = None
    tags: tuple[Text, ...] = ()
    author: Text | None = None
    language: Text | None = None
    acl: tuple[Text, ...] | None = None
    images: tuple[GenericImage, ...] = ()

    @model_validator(mode="after")
    def _revision_and_body(self) -> Self:
        if self.revision is None and self.updated_at is None:
            raise ValueError("give revision (an integer) or updated_at (ISO 8601 with a zone)")
        if self.html is not None and self.text is not None:
            raise ValueError("give html or text, not both")
        return self

    @property
    def key(self) -> str:
        return str(self.id)

    @property
    def revision_number(self) -> int:
        if self.revision is not None:
            return self.revision
        assert self.updated_at is not None  # checked by the validator
        return milliseconds_since_epoch(self.updated_at)


class GenericBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Annotated[list[GenericEntry], Field(min_length=1, max_length=MAX_EVENTS_PER_BODY)]


def generic_events(
    payload: Mapping[str, Any], headers: Mapping[str, str], context: SourceContext
) -> list[ChangeEvent]:
    """Map a generic body (one entry or ``{"events": [...]}``) to change events, in order."""
    del headers  # the generic format carries everything in the body
    try:
        if "events" in payload:
            entries = GenericBatch.model_validate(payload).events
        else:
            entries = [GenericEntry.model_validate(payload)]
    except ValidationError as error:
        raise PayloadError(f"not a valid generic event: {describe_validation(error)}") from error
    return [_entry_event(entry, context) for entry in entries]


def _entry_event(entry: GenericEntry, context: SourceContext) -> ChangeEvent:
    uri = public_url(entry.url)
    if entry.action in DELETE_ACTIONS:
        return delete_event(context, entry.key, entry.revision_number, uri=uri)
    content, html_title = _content(entry, context)
    metadata = DocumentMetadata(
        title=entry.title or html_title,
        tags=entry.tags,
        author=entry.author,
        url=uri,
        language=entry.language,
    )
    return upsert_event(
        context,
        entry.key,
        entry.revision_number,
        uri=uri,
        content=content,
        metadata=metadata,
        acl=entry.acl,
    )


def _content(entry: GenericEntry, context: SourceContext) -> tuple[Content, str | None]:
    base = public_url(entry.url)
    assets = [
        make_asset(context.absolute_url(image.url, base), alt=image.alt, caption=image.caption)
        for image in entry.images
    ]
    if entry.html is None:
        return Content.of_text(entry.text, entry.content_type, assets), None
    body = prepare_html(entry.html, lambda url: context.absolute_url(url, base), title=entry.title)
    html = body.html if body.has_text or body.has_images else None
    return Content.of_text(html, "text/html", assets), body.title
