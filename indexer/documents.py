"""What extraction produces and what chunking consumes: parts of one document (pure data).

A document becomes text parts (each with where it sits: page, section, character span in
the document's text) and image parts (the encoded image with its page, position and the
words around it). Chunking turns text parts into bounded chunks; each image part is one
image chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"


@dataclass(frozen=True)
class BoundingBox:
    """Position on a page in PDF points (1/72 inch), origin top-left."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class TextPart:
    """A run of text that chunking must not merge across: a page, or a section.

    ``char_start`` is the offset of ``text`` in the document's whole extracted text, so a
    chunk can give its character span in the document.
    """

    text: str
    char_start: int = 0
    page: int | None = None
    """1-based page number (PDFs)."""
    section: str | None = None
    """Heading path, e.g. ``"Install > From source"`` (Markdown, HTML)."""


@dataclass(frozen=True)
class ImagePart:
    """An image of the document: a standalone image file, a PDF figure, an HTML ``<img>``."""

    data: bytes
    """The encoded image (PNG, JPEG, …) as found or as rendered; ``b""`` when the image is
    only referenced (``reference`` says where) and still has to be fetched."""
    content_type: str | None = None
    reference: str | None = None
    """Where the image lives if not embedded (URL or path, e.g. an HTML ``<img src>``)."""
    page: int | None = None
    bbox: BoundingBox | None = None
    alt_text: str | None = None
    caption: str | None = None
    context: str | None = None
    """Nearby words (the page's or section's text, trimmed) to make the image findable."""
    name: str | None = None
    index: int = 0
    """Position among the document's images, in reading order."""


@dataclass(frozen=True)
class ExtractedDocument:
    title: str | None
    text_parts: tuple[TextPart, ...] = ()
    image_parts: tuple[ImagePart, ...] = ()
    page_count: int | None = None
    warnings: tuple[str, ...] = field(default=())
    """Non-fatal problems (an unreadable embedded image, say): logged, not dead-lettered."""

    @property
    def full_text(self) -> str:
        return "\n\n".join(part.text for part in self.text_parts)
