"""application/pdf with pymupdf: one text part per page and the embedded images.

Pages without text (blank, or scanned) give no text part; their images are still taken.

Each image keeps its page and where it is drawn (``BoundingBox`` in points, from
``page.get_image_rects``) and the page's text as context, so a figure can be found by the
words around it. Images that Pillow may not read (JPEG 2000, JBIG2, CMYK rasters …) are
re-encoded as PNG through pymupdf. Problems with one image are warnings; problems with
the file itself (encrypted, corrupt, too many pages) are ``ExtractionError``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pymupdf

from indexer.documents import BoundingBox, ExtractedDocument, ImagePart, TextPart
from indexer.errors import ExtractionError
from indexer.extract.common import (
    PART_SEPARATOR,
    clean_title,
    first_line_title,
    normalise_newlines,
    trim_context,
)
from indexer.extract.limits import DEFAULT_LIMITS, ExtractionLimits

# pymupdf's functions are mostly unannotated: use it through ``Any`` so that mypy strict
# checks our side without flagging every call into the library.
fitz: Any = pymupdf

_PILLOW_FORMATS = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "tif": "image/tiff",
    "bmp": "image/bmp",
    "webp": "image/webp",
}


@dataclass(frozen=True)
class _Placement:
    xref: int
    bbox: BoundingBox | None


def _open(data: bytes, limits: ExtractionLimits) -> Any:
    try:
        document = fitz.open(stream=data, filetype="pdf")
    except Exception as error:  # pymupdf raises FileDataError, EmptyFileError, RuntimeError …
        raise ExtractionError(f"PDF cannot be opened: {error}") from error
    if document.needs_pass:
        document.close()
        raise ExtractionError("PDF is encrypted")
    if document.page_count == 0:  # pymupdf "repairs" garbage into an empty document
        document.close()
        raise ExtractionError("PDF has no pages (corrupt or truncated)")
    if document.page_count > limits.max_pdf_pages:
        count = document.page_count
        document.close()
        raise ExtractionError(f"PDF has {count} pages, over the limit {limits.max_pdf_pages}")
    return document


def _page_text(page: Any) -> str:
    """The page's text blocks in content order, a blank line between blocks.

    The same text as ``get_text("text")``, but the blank lines keep the page's paragraphs
    apart, so that chunk boundaries can anchor on them as in Markdown.
    """
    blocks = page.get_text("blocks")  # (x0, y0, x1, y1, text, number, type); type 1 = image
    paragraphs = (normalise_newlines(str(block[4])).strip() for block in blocks if block[6] == 0)
    return PART_SEPARATOR.join(paragraph for paragraph in paragraphs if paragraph)


def _declared_size(document: Any, xref: int) -> tuple[int, int]:
    """Width and height as the image's PDF dictionary declares them (nothing decoded)."""
    sizes = []
    for key in ("Width", "Height"):
        kind, value = document.xref_get_key(xref, key)
        if kind != "int":
            raise ValueError(f"image {xref} declares no {key}")
        sizes.append(int(value))
    return sizes[0], sizes[1]


def _check_pixels(document: Any, xref: int, width: int, height: int, limit: int) -> None:
    """Refuse an image (or its soft mask) whose declared canvas is over ``limit`` pixels,
    before anything is decoded: a few KB of Flate data can declare gigabytes of pixels."""
    if width * height > limit:
        raise ValueError(f"declares {width}x{height} pixels, over the limit {limit}")
    kind, value = document.xref_get_key(xref, "SMask")
    if kind == "xref":
        mask_width, mask_height = _declared_size(document, int(value.split()[0]))
        if mask_width * mask_height > limit:
            raise ValueError(
                f"its soft mask declares {mask_width}x{mask_height} pixels, over the limit {limit}"
            )


def _placements(page: Any, limits: ExtractionLimits) -> tuple[list[_Placement], list[str]]:
    """The page's images large enough to matter, once per xref, top to bottom, left to
    right; and why others were refused (over the pixel limit), without decoding any."""
    document = page.parent
    seen: set[int] = set()
    placements: list[_Placement] = []
    refused: list[str] = []
    for info in page.get_images(full=True):
        xref = int(info[0])
        if xref in seen:
            continue
        seen.add(xref)
        try:
            width, height = _declared_size(document, xref)
            if min(width, height) < limits.min_image_side:
                continue
            _check_pixels(document, xref, width, height, limits.max_image_pixels)
        except ValueError as error:
            refused.append(str(error))
            continue
        rects = page.get_image_rects(xref)
        bbox = None
        if rects:
            rect = rects[0]
            bbox = BoundingBox(float(rect.x0), float(rect.y0), float(rect.x1), float(rect.y1))
        placements.append(_Placement(xref=xref, bbox=bbox))
    far = float("inf")
    placements.sort(key=lambda p: (p.bbox.y0, p.bbox.x0) if p.bbox else (far, far))
    return placements, refused


def _image_bytes(document: Any, xref: int, limits: ExtractionLimits) -> tuple[bytes, str, str]:
    """The image's bytes, content type and extension, as stored or re-encoded as PNG."""
    extracted = document.extract_image(xref)
    if not extracted:
        raise ValueError("no image data")
    width, height = int(extracted.get("width", 0)), int(extracted.get("height", 0))
    if width * height > limits.max_image_pixels:
        raise ValueError(f"{width * height} pixels, over the limit {limits.max_image_pixels}")
    extension = str(extracted.get("ext", "")).lower()
    soft_mask = int(extracted.get("smask") or 0)
    if extension in _PILLOW_FORMATS and not soft_mask:
        return bytes(extracted["image"]), _PILLOW_FORMATS[extension], extension
    pixmap = fitz.Pixmap(document, xref)
    if pixmap.n - pixmap.alpha >= 4:  # CMYK and friends: PNG wants gray or RGB
        pixmap = fitz.Pixmap(fitz.csRGB, pixmap)
    if soft_mask and not pixmap.alpha:  # the transparency is stored apart: put it back
        # An unusable mask leaves the opaque image, which is still worth indexing.
        with contextlib.suppress(Exception):
            pixmap = fitz.Pixmap(pixmap, fitz.Pixmap(document, soft_mask))
    return bytes(pixmap.tobytes("png")), "image/png", "png"


def extract_pdf(data: bytes, *, limits: ExtractionLimits = DEFAULT_LIMITS) -> ExtractedDocument:
    """Text per page (1-based ``page``) and the page images with their bounding boxes.

    Images are numbered (``ImagePart.index``) in the order :func:`_placements` lists them,
    before any is decoded, so :func:`extract_pdf_image` can find one again by its number
    without decoding the others; an image that fails to decode leaves a gap.
    """
    document = _open(data, limits)
    warnings: list[str] = []
    parts: list[TextPart] = []
    images: list[ImagePart] = []
    offset = 0
    numbered = 0
    truncated = False
    try:
        for page_index in range(document.page_count):
            number = page_index + 1
            try:
                page = document.load_page(page_index)
            except Exception as error:  # one broken page should not lose the others
                warnings.append(f"page {number} could not be read: {error}")
                continue
            try:
                text = _page_text(page)
            except Exception as error:
                warnings.append(f"the text of page {number} could not be read: {error}")
                text = ""
            if text:
                if parts:
                    offset += len(PART_SEPARATOR)
                parts.append(TextPart(text=text, char_start=offset, page=number))
                offset += len(text)
            context = trim_context(text)
            placements, refused = _listed_placements(page, limits, number, warnings)
            warnings.extend(f"an image on page {number} was skipped: {why}" for why in refused)
            for ordinal, placement in enumerate(placements, start=1):
                if numbered >= limits.max_images_per_document:
                    truncated = True
                    break
                index, numbered = numbered, numbered + 1
                try:
                    payload, content_type, extension = _image_bytes(
                        document, placement.xref, limits
                    )
                except Exception as error:
                    warnings.append(f"an image on page {number} was skipped: {error}")
                    continue
                images.append(
                    ImagePart(
                        data=payload,
                        content_type=content_type,
                        page=number,
                        bbox=placement.bbox,
                        context=context,
                        name=f"page{number}-image{ordinal}.{extension}",
                        index=index,
                    )
                )
        metadata_title = (document.metadata or {}).get("title")
        page_count = int(document.page_count)
    finally:
        document.close()
    if truncated:
        warnings.append(
            f"document has more than {limits.max_images_per_document} images; "
            f"only the first {limits.max_images_per_document} are indexed"
        )
    title = clean_title(metadata_title) or (first_line_title(parts[0].text) if parts else None)
    return ExtractedDocument(
        title=title,
        text_parts=tuple(parts),
        image_parts=tuple(images),
        page_count=page_count,
        warnings=tuple(warnings),
    )


def extract_pdf_image(
    data: bytes, *, index: int, page: int | None, limits: ExtractionLimits = DEFAULT_LIMITS
) -> bytes:
    """The bytes of image number ``index`` as :func:`extract_pdf` numbered it (on ``page``
    when given), decoding that image only; ``ExtractionError`` when it is not there."""
    document = _open(data, limits)
    try:
        numbered = 0
        for page_index in range(document.page_count):
            current = _page_or_none(document, page_index)
            if current is None:  # as in extract_pdf: an unreadable page has no images
                continue
            placements, _ = _listed_placements(current, limits, page_index + 1, [])
            for placement in placements:
                if numbered >= limits.max_images_per_document:
                    break
                if numbered == index:
                    if page is not None and page != page_index + 1:
                        break
                    try:
                        return _image_bytes(document, placement.xref, limits)[0]
                    except Exception as error:
                        raise ExtractionError(f"image {index} cannot be read: {error}") from error
                numbered += 1
    finally:
        document.close()
    raise ExtractionError(f"the PDF has no image {index} on page {page}")


def _page_or_none(document: Any, page_index: int) -> Any:
    try:
        return document.load_page(page_index)
    except Exception:  # pymupdf raises several types for a broken page
        return None


def _listed_placements(
    page: Any, limits: ExtractionLimits, number: int, warnings: list[str]
) -> tuple[list[_Placement], list[str]]:
    try:
        return _placements(page, limits)
    except Exception as error:
        warnings.append(f"images of page {number} could not be listed: {error}")
        return [], []
