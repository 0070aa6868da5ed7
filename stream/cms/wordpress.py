"""WordPress: a post as the REST API shows it, sent by a webhook plugin.

Accepted bodies:

- a REST API post object (``/wp-json/wp/v2/posts/<id>``, optionally with ``_embedded``):
  ``id``, ``type``, ``status``, ``modified_gmt``, ``link``, ``title.rendered``,
  ``content.rendered``, ``excerpt.rendered``, ``author``, ``tags``, ``categories``;
- an envelope ``{"action": "...", "post": {...}}`` (WP Webhooks and similar plugins), where
  ``post`` is a REST object or a ``WP_Post`` (``ID``, ``post_status``, ``post_content``, …)
  and ``post_permalink``/``post_thumbnail`` may sit beside it. An action naming ``delete``
  or ``trash`` forces a delete.

Only ``status == "publish"`` (and no password) is public: ``trash``, ``draft``,
``private``, ``pending``, ``future`` and password-protected posts are deleted from the
index. The document key is ``<type>/<id>``. ``modified_gmt`` (UTC) counts whole seconds,
so the revision is its epoch milliseconds × 1000 plus the number of the change within
that second (:mod:`stream.cms.revisions`): a quick edit or a delete in the same second as
the last save still comes after it. The body is sent as HTML (``text/html``), read once
by the indexer; only the featured image is an asset (the content's ``<img>`` are found
by the indexer in the HTML).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from indexer.events import Asset, ChangeEvent, DocumentMetadata
from stream.cms.html_text import html_to_plain_text, prepare_html
from stream.cms.payloads import (
    Content,
    PayloadError,
    SourceContext,
    delete_event,
    epoch_ms,
    make_asset,
    optional_text,
    public_url,
    require_id,
    require_mapping,
    upsert_event,
)
from stream.cms.revisions import SLOTS_PER_TIMESTAMP, sequenced

PUBLIC_STATUS = "publish"
HIDDEN_STATUSES = frozenset({"trash", "draft", "private", "pending", "future", "auto-draft"})
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def wordpress_events(
    payload: Mapping[str, Any], headers: Mapping[str, str], context: SourceContext
) -> list[ChangeEvent]:
    """Map a WordPress post (or a plugin's envelope around one) to one change event."""
    del headers  # WordPress plugins say everything in the body
    action = payload.get("action")
    post = _post(payload)
    key = f"{_post_type(post)}/{require_id(post.get('id'), 'post id')}"
    modified = epoch_ms(post.get("modified_gmt"), "post modified_gmt", assume_utc=True)
    revision = modified * SLOTS_PER_TIMESTAMP
    uri = public_url(post.get("link"))
    if _forces_delete(action) or _is_hidden(post):
        deleted = delete_event(context, key, revision, uri=uri)
        return [sequenced(deleted, modified, context.revisions)]
    content = _content(post, context, uri)
    metadata = DocumentMetadata(
        title=_plain(_rendered(post.get("title"))),
        tags=_tags(post),
        author=_author(post),
        url=uri,
        extra={"wordpress_type": _post_type(post)},
    )
    upserted = upsert_event(context, key, revision, uri=uri, content=content, metadata=metadata)
    return [sequenced(upserted, modified, context.revisions)]


def _post(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The post in REST shape, unwrapping an envelope and converting a ``WP_Post``."""
    if "post" not in payload:
        return payload
    post = require_mapping(payload["post"], "post")
    if "ID" not in post:
        return post
    return {
        "id": post.get("ID"),
        "type": post.get("post_type"),
        "status": post.get("post_status"),
        "modified_gmt": post.get("post_modified_gmt"),
        "link": payload.get("post_permalink") or post.get("guid"),
        "title": post.get("post_title"),
        "content": _paragraphs(post.get("post_content")),
        "excerpt": post.get("post_excerpt"),
        "author": post.get("post_author"),
        "password": post.get("post_password"),
        "featured_image": payload.get("post_thumbnail"),
    }


def _paragraphs(raw: object) -> object:
    """Raw ``post_content`` separates paragraphs by blank lines (WordPress adds the ``<p>``
    only when rendering): keep them as line breaks."""
    return _BLANK_LINE.sub("<br>\n", raw) if isinstance(raw, str) else raw


def _post_type(post: Mapping[str, Any]) -> str:
    value = post.get("type", "post")
    if not isinstance(value, str) or not value.strip():
        raise PayloadError("post type must be a non-empty string such as 'post' or 'page'")
    return value.strip()


def _forces_delete(action: object) -> bool:
    return isinstance(action, str) and any(word in action.lower() for word in ("delete", "trash"))


def _is_hidden(post: Mapping[str, Any]) -> bool:
    """Whether the post must leave the index: not published, or behind a password."""
    status = post.get("status")
    if not isinstance(status, str):
        raise PayloadError("post status is missing (expected e.g. 'publish' or 'trash')")
    if status in HIDDEN_STATUSES:
        return True
    if status != PUBLIC_STATUS:
        raise PayloadError(
            f"unknown post status {status!r} (expected 'publish', or one of "
            f"{', '.join(sorted(HIDDEN_STATUSES))})"
        )
    content = post.get("content")
    protected = isinstance(content, Mapping) and content.get("protected") is True
    return protected or bool(optional_text(post.get("password")))


def _rendered(value: object) -> str | None:
    """``{"rendered": html}`` (REST) or a plain string (``WP_Post``)."""
    if isinstance(value, Mapping):
        value = value.get("rendered")
    return value if isinstance(value, str) else None


def _plain(html: str | None) -> str | None:
    """A title or caption's text: tags removed, entities (``&#8217;``) decoded."""
    return html_to_plain_text(html) or None if html else None


def _content(post: Mapping[str, Any], context: SourceContext, link: str | None) -> Content:
    """The post's HTML, sent as ``text/html`` for the worker to read once (sections by
    heading, code kept as text), with relative image URLs resolved against the link, else
    the source's ``base_url``. Without text in the content, the excerpt comes first."""

    def resolve(url: str) -> str:
        return context.absolute_url(url, link)

    title = _plain(_rendered(post.get("title")))
    content = _rendered(post.get("content")) or ""
    body = prepare_html(content, resolve, title=title)
    excerpt = _rendered(post.get("excerpt")) or ""
    if not body.has_text and excerpt.strip():
        body = prepare_html(f"{excerpt}\n{content}", resolve, title=title)
    featured = _featured_image(post, context, link)
    html = body.html if body.has_text or body.has_images else None
    return Content.of_text(html, "text/html", [featured] if featured else [])


def _featured_image(
    post: Mapping[str, Any], context: SourceContext, link: str | None
) -> Asset | None:
    """The featured image from ``_embedded["wp:featuredmedia"]`` or a plugin's URL."""
    embedded = post.get("_embedded")
    media = embedded.get("wp:featuredmedia") if isinstance(embedded, Mapping) else None
    if isinstance(media, list) and media and isinstance(media[0], Mapping):
        item = media[0]
        url = optional_text(item.get("source_url"))
        if url:
            return make_asset(
                context.absolute_url(url, link),
                content_type=optional_text(item.get("mime_type")),
                alt=item.get("alt_text"),
                caption=_plain(_rendered(item.get("caption"))),
            )
    url = optional_text(post.get("featured_image")) or optional_text(
        post.get("jetpack_featured_media_url")
    )
    return make_asset(context.absolute_url(url, link)) if url else None


def _tags(post: Mapping[str, Any]) -> tuple[str, ...]:
    """Tag and category ids as ``tag:<id>`` and ``category:<id>`` (ids of two taxonomies
    can be equal, so each keeps its name)."""
    tags: list[str] = []
    for field, prefix in (("tags", "tag"), ("categories", "category")):
        values = post.get(field) or []
        if not isinstance(values, list):
            raise PayloadError(f"post {field} must be a list of ids")
        tags += [f"{prefix}:{value}" for value in values if isinstance(value, int | str)]
    return tuple(tags)


def _author(post: Mapping[str, Any]) -> str | None:
    """The embedded author's name when present, else the author id as a string."""
    embedded = post.get("_embedded")
    authors = embedded.get("author") if isinstance(embedded, Mapping) else None
    if isinstance(authors, list) and authors and isinstance(authors[0], Mapping):
        name = optional_text(authors[0].get("name"))
        if name:
            return name
    author = post.get("author")
    if isinstance(author, bool) or not isinstance(author, int | str):
        return None
    return str(author) or None
