"""Bounds on what extraction accepts, so one hostile or huge file cannot sink a worker."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ExtractionLimits:
    """Limits applied while extracting one document.

    Going over ``max_bytes``, ``max_image_pixels`` (for a standalone image) or
    ``max_pdf_pages`` is an :class:`~indexer.errors.ExtractionError` (the document is
    dead-lettered); going over ``max_images_per_document`` only truncates, with a warning.
    """

    max_bytes: int = 200 * MIB
    max_image_pixels: int = 64_000_000
    """Width × height above which an image is refused before decoding (decompression bombs)."""
    max_pdf_pages: int = 2000
    max_images_per_document: int = 200
    min_image_side: int = 32
    """Embedded images narrower or shorter than this (icons, spacers, rules) are skipped."""


DEFAULT_LIMITS = ExtractionLimits()
