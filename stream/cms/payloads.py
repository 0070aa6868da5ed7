"""What every CMS adapter shares: the error it raises, the source it maps for, and the
builders that turn mapped content into valid :class:`~indexer.events.ChangeEvent`s.

Adapters parse their CMS's shape; these builders apply the rules common to all of them:
ids derived from the source and the CMS's own id (so redelivery gives the same ids), an
upsert must carry something to index, inline text is bounded, and any contract violation
becomes a :class:`PayloadError` with a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import ValidationError

from indexer.events import (
    MAX_INLINE_TEXT_BYTES,
    Asset,
    ChangeEvent,
    DocumentMetadata,
    Operation,
    derive_doc_id,
    derive_event_id,
)
from stream.cms.revisions import RevisionSequencer

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PayloadError(ValueError):
    """A webhook body that cannot be mapped to change events. The message says why, in
    words meant for the person who configured the sender (it is returned with the 422
    and kept in the dead letter)."""


@dataclass(frozen=True)
class SourceContext:
    """The configured source a payload came from, and the time it is mapped at."""

    source_name: str
    now: datetime
    base_url: str | None = None
    locale: str = "en-US"
    acl: tuple[str, ...] = ()
    revisions: RevisionSequencer | None = None
    """Orders changes within one timestamp second (WordPress); None numbers them all 0."""

    @property
    def source(self) -> str:
        """The events' ``source``: ``cms:<source_name>``."""
        return f"cms:{self.source_name}"

    def fallback_uri(self, key: str) -> str:
        """The ``uri`` of an entry without a public URL: ``cms://<source_name>/<key>``."""
        return f"cms://{self.source_name}/{key}"

    def absolute_url(self, url: str, base: str | None = None) -> str:
        """``url`` made absolute against ``base``, else the source's ``base_url``.

        A relative URL with nothing to resolve it against is an error rather than an asset
        the indexer could never fetch: the fix is a ``base_url`` in the source's config.
        """
        url = url.strip()
        if url.startswith("//"):
            return "https:" + url
        if urlsplit(url).scheme:
            return url
        anchor = base or self.base_url
        if not anchor:
            raise PayloadError(
                f"relative URL {url!r} cannot be resolved: set base_url in the config "
                f"of source {self.source_name!r}"
            )
        return urljoin(anchor, url)


@dataclass(frozen=True)
class Content:
    """What an upsert indexes: inline text, image assets, and the media type of the
    document (of its text when it has text, else of the resource at its ``uri``)."""

    text: str | None = None
    content_type: str | None = None
    assets: tuple[Asset, ...] = ()

    @classmethod
    def of_text(cls, text: str | None, content_type: str, assets: Iterable[Asset] = ()) -> Content:
        """Text in ``content_type``; without text there is no media type to claim."""
        text = text.strip() if text else None
        return cls(text or None, content_type if text else None, tuple(assets))


def upsert_event(
    context: SourceContext,
    key: str,
    revision: int,
    *,
    uri: str | None,
    content: Content,
    metadata: DocumentMetadata,
    acl: tuple[str, ...] | None = None,
) -> ChangeEvent:
    """An upsert of the entry whose CMS id is ``key``; ``acl`` defaults to the source's."""
    text = content.text.strip() if content.text else None
    if not text and not content.assets:
        raise PayloadError(f"entry {key!r} has nothing to index: no text and no images")
    if text is not None and (size := len(text.encode())) > MAX_INLINE_TEXT_BYTES:
        raise PayloadError(
            f"entry {key!r} has {size} bytes of text, over the {MAX_INLINE_TEXT_BYTES} "
            "byte limit for inline text"
        )
    return _event(
        context,
        key,
        Operation.UPSERT,
        revision,
        uri=uri,
        content_type=content.content_type,
        text=text or None,
        assets=unique_assets(content.assets),
        metadata=metadata,
        acl=context.acl if acl is None else acl,
    )


def delete_event(
    context: SourceContext, key: str, revision: int, *, uri: str | None = None
) -> ChangeEvent:
    """A delete of the entry whose CMS id is ``key`` (unpublished, trashed or deleted)."""
    return _event(context, key, Operation.DELETE, revision, uri=uri, metadata=DocumentMetadata())


def _event(
    context: SourceContext,
    key: str,
    op: Operation,
    revision: int,
    *,
    uri: str | None,
    metadata: DocumentMetadata,
    content_type: str | None = None,
    text: str | None = None,
    assets: tuple[Asset, ...] = (),
    acl: tuple[str, ...] = (),
) -> ChangeEvent:
    source = context.source
    for asset in assets:  # the worker refuses them too; here the sender learns why
        scheme = urlsplit(asset.uri).scheme.lower()
        if scheme == "file" or (not scheme and asset.uri.startswith(("/", "\\"))):
            raise PayloadError(
                f"entry {key!r}: asset {asset.uri[:200]!r} names a local file "
                "(webhooks may reference http(s) URLs only)"
            )
    doc_id = derive_doc_id(source, key)
    try:
        return ChangeEvent(
            event_id=derive_event_id(source, doc_id, op.value, revision),
            source=source,
            doc_id=doc_id,
            op=op,
            uri=uri or context.fallback_uri(key),
            revision=revision,
            content_type=content_type,
            text=text,
            assets=assets,
            metadata=metadata,
            acl=acl,
            emitted_at=context.now,
        )
    except ValidationError as error:
        raise PayloadError(f"entry {key!r}: {describe_validation(error)}") from error


def describe_validation(error: ValidationError) -> str:
    """Pydantic's errors as one line: ``events.0.revision: Input should be …; …``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def unique_assets(assets: Iterable[Asset]) -> tuple[Asset, ...]:
    """Assets in order, the first of each URI kept."""
    seen: dict[str, Asset] = {}
    for asset in assets:
        seen.setdefault(asset.uri, asset)
    return tuple(seen.values())


def markdown_assets(
    images: Iterable[tuple[str, str | None]], context: SourceContext, uri: str | None
) -> list[Asset]:
    """Assets for the Markdown images ``(url, alt)`` that the indexer cannot fetch from
    the text itself. It reads every image of a Markdown text, resolving its URL against
    the document's ``uri``: an image it resolves to the same absolute URL is left to it
    (listing it again would index it twice); one it cannot (a ``/uploads/…`` path of an
    entry without a public URL) becomes an asset, resolved against ``base_url``."""
    assets: list[Asset] = []
    for url, alt in images:
        absolute = context.absolute_url(url)
        found_by_indexer = uri is not None and urljoin(uri, url.strip()) == absolute
        if not (found_by_indexer and urlsplit(absolute).scheme in {"http", "https"}):
            assets.append(make_asset(absolute, alt=alt))
    return assets


def make_asset(
    uri: str, *, content_type: str | None = None, alt: object = None, caption: object = None
) -> Asset:
    """An asset with alt text and caption kept only when they are non-empty strings."""
    return Asset(
        uri=uri,
        content_type=content_type,
        alt_text=optional_text(alt),
        caption=optional_text(caption),
    )


def epoch_ms(value: object, what: str, *, assume_utc: bool = False) -> int:
    """An ISO 8601 timestamp as epoch milliseconds (the revision of CMSs without version
    numbers). A timestamp without a zone is refused unless ``assume_utc`` (WordPress's
    ``*_gmt`` fields are UTC without saying so)."""
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{what} is missing (an ISO 8601 timestamp is needed as revision)")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise PayloadError(f"{what} {value!r} is not an ISO 8601 timestamp") from error
    if moment.tzinfo is None:
        if not assume_utc:
            raise PayloadError(f"{what} {value!r} has no time zone (add Z or +00:00)")
        moment = moment.replace(tzinfo=UTC)
    if moment < _EPOCH:
        raise PayloadError(f"{what} {value!r} is before 1970")
    return milliseconds_since_epoch(moment)


def milliseconds_since_epoch(moment: datetime) -> int:
    """Exact integer milliseconds (no float rounding) of a zone-aware datetime."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def require_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{what} must be a JSON object, not {json_type(value)}")
    return value


def require_id(value: object, what: str) -> str:
    """A CMS id: a non-empty string or an integer (never a boolean)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{what} is missing or not a string or integer")
    text = str(value).strip()
    if not text:
        raise PayloadError(f"{what} is empty")
    return text


def optional_text(value: object) -> str | None:
    """A non-empty stripped string, or None for anything else."""
    return value.strip() or None if isinstance(value, str) else None


def public_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL (a page readers can open)."""
    if isinstance(value, str) and urlsplit(value.strip()).scheme in {"http", "https"}:
        return value.strip()
    return None


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (plain dicts are not case-insensitive)."""
    if name in headers:
        return headers[name]
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def json_type(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__
