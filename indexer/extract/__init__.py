"""Extraction: bytes of one document → text parts and image parts (pure, in-process).

``extract_document`` picks the extractor by content type (or, when that is missing or
generic, by the file name's extension). Every failure is an ``ExtractionError`` or
``UnsupportedContent`` with a reason, which the worker dead-letters.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import PurePosixPath

from indexer.documents import ExtractedDocument
from indexer.errors import ExtractionError, UnsupportedContent
from indexer.extract.html import extract_html
from indexer.extract.images import IMAGE_CONTENT_TYPES, extract_image, load_rgb_for_model
from indexer.extract.limits import DEFAULT_LIMITS, ExtractionLimits
from indexer.extract.markdown import extract_markdown
from indexer.extract.pdf import extract_pdf
from indexer.extract.plain import extract_plain

__all__ = [
    "ExtractionLimits",
    "extract_document",
    "load_rgb_for_model",
    "resolve_content_type",
    "supported_content_types",
]

_Extractor = Callable[[bytes, str | None, str | None, ExtractionLimits], ExtractedDocument]

_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "unknown/unknown"})
_EXTENSION_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".text": "text/plain",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}
_ALIASES = {
    "text/x-markdown": "text/markdown",
    "application/xhtml+xml": "text/html",
    "application/x-pdf": "application/pdf",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-ms-bmp": "image/bmp",
}


def _plain(
    data: bytes, charset: str | None, _name: str | None, _: ExtractionLimits
) -> ExtractedDocument:
    return extract_plain(data, charset=charset)


def _markdown(
    data: bytes, charset: str | None, _name: str | None, limits: ExtractionLimits
) -> ExtractedDocument:
    return extract_markdown(data, charset=charset, limits=limits)


def _html(
    data: bytes, charset: str | None, _name: str | None, limits: ExtractionLimits
) -> ExtractedDocument:
    return extract_html(data, charset=charset, limits=limits)


def _pdf(
    data: bytes, _charset: str | None, _name: str | None, limits: ExtractionLimits
) -> ExtractedDocument:
    return extract_pdf(data, limits=limits)


def _image(
    data: bytes, _charset: str | None, name: str | None, limits: ExtractionLimits
) -> ExtractedDocument:
    return extract_image(data, name=name, limits=limits)


_EXTRACTORS: dict[str, _Extractor] = {
    "text/plain": _plain,
    "text/markdown": _markdown,
    "text/html": _html,
    "application/pdf": _pdf,
    **{content_type: _image for content_type in IMAGE_CONTENT_TYPES - {"image/x-ms-bmp"}},
}


def supported_content_types() -> frozenset[str]:
    """The (canonical) content types that ``extract_document`` indexes."""
    return frozenset(_EXTRACTORS)


def _parse(content_type: str | None) -> tuple[str | None, str | None]:
    """``"Text/HTML; charset=UTF-8"`` → ``("text/html", "UTF-8")``."""
    if not content_type or not content_type.strip():
        return None, None
    media, *parameters = content_type.split(";")
    charset = None
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    media = media.strip().lower()
    return _ALIASES.get(media, media), charset


def _guess_from_name(name: str | None) -> str | None:
    if not name:
        return None
    suffix = PurePosixPath(name).suffix.lower()
    guessed = _EXTENSION_TYPES.get(suffix) or mimetypes.guess_type(name, strict=False)[0]
    return _ALIASES.get(guessed, guessed) if guessed else None


def resolve_content_type(content_type: str | None, name: str | None = None) -> str | None:
    """The canonical type to extract as: the declared one if we index it, else the name's.

    Returns the declared (or guessed) type even when it is not indexed, for messages.
    """
    media, _ = _parse(content_type)
    if media in _EXTRACTORS:
        return media
    guessed = _guess_from_name(name)
    if guessed in _EXTRACTORS or media is None or media in _GENERIC_TYPES:
        return guessed or media
    return media


def extract_document(
    data: bytes,
    content_type: str | None,
    *,
    name: str | None = None,
    limits: ExtractionLimits = DEFAULT_LIMITS,
) -> ExtractedDocument:
    """Extract text parts and image parts from one document's bytes.

    Raises ``UnsupportedContent`` for a type that is not indexed and ``ExtractionError``
    for a document that is too large, encrypted, corrupt or a decompression bomb.
    """
    resolved = resolve_content_type(content_type, name)
    extractor = _EXTRACTORS.get(resolved or "")
    if extractor is None:
        shown = resolved or content_type or "unknown"
        subject = f"{name!r}: " if name else ""
        raise UnsupportedContent(f"{subject}content type {shown} is not indexed")
    if len(data) > limits.max_bytes:
        raise ExtractionError(f"document has {len(data)} bytes, over the limit {limits.max_bytes}")
    _, charset = _parse(content_type)
    return extractor(data, charset, name, limits)
