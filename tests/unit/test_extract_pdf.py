"""PDF extraction with PDFs built in the test: pages, images, bounding boxes, bad files."""

from __future__ import annotations

import io
from typing import Any

import pymupdf
import pytest
from PIL import Image

from indexer.errors import ExtractionError
from indexer.extract import ExtractionLimits, extract_document

fitz: Any = pymupdf  # pymupdf is mostly unannotated


def image_bytes(size: tuple[int, int], color: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def two_page_pdf(*, title: str | None = "Quarterly report") -> tuple[bytes, Any]:
    """Page 1: text. Page 2: text, a red PNG at a known rect (placed twice), a tiny icon."""
    document = fitz.open()
    first = document.new_page()
    first.insert_text((72, 72), "Quarterly report\nRevenue grew in every region.")
    second = document.new_page()
    second.insert_text((72, 72), "The red square below shows the market share.")
    rect = fitz.Rect(100, 200, 300, 350)
    red = image_bytes((120, 90), (220, 20, 20))
    second.insert_image(rect, stream=red)
    second.insert_image(fitz.Rect(100, 400, 200, 475), stream=red)  # same image again
    second.insert_image(fitz.Rect(10, 10, 20, 20), stream=image_bytes((8, 8), (0, 0, 255)))
    if title is not None:
        document.set_metadata({"title": title})
    data = document.tobytes()
    document.close()
    return data, rect


def test_one_text_part_per_page_with_page_numbers() -> None:
    data, _ = two_page_pdf()
    document = extract_document(data, "application/pdf")
    assert document.page_count == 2
    assert [part.page for part in document.text_parts] == [1, 2]
    assert document.text_parts[0].text == "Quarterly report\nRevenue grew in every region."
    assert "market share" in document.text_parts[1].text
    full = document.full_text
    for part in document.text_parts:
        assert full[part.char_start : part.char_start + len(part.text)] == part.text
    assert document.warnings == ()


def test_text_blocks_of_a_page_are_separated_by_blank_lines() -> None:
    document = fitz.open()
    page = document.new_page()
    page.insert_textbox(fitz.Rect(72, 72, 500, 120), "First paragraph of the page.")
    page.insert_textbox(fitz.Rect(72, 200, 500, 260), "Second paragraph,\nwrapped.")
    (part,) = extract_document(document.tobytes(), "application/pdf").text_parts
    assert part.text == "First paragraph of the page.\n\nSecond paragraph,\nwrapped."


def test_title_from_metadata_else_first_line() -> None:
    data, _ = two_page_pdf(title="Meta title")
    assert extract_document(data, "application/pdf").title == "Meta title"
    data, _ = two_page_pdf(title=None)
    assert extract_document(data, "application/pdf").title == "Quarterly report"


def test_embedded_image_has_page_bbox_bytes_and_context() -> None:
    data, rect = two_page_pdf()
    images = extract_document(data, "application/pdf").image_parts
    assert len(images) == 1  # the second placement of the same image and the icon are not
    image = images[0]
    assert image.page == 2
    assert image.index == 0
    assert image.bbox is not None
    for got, want in zip(
        (image.bbox.x0, image.bbox.y0, image.bbox.x1, image.bbox.y1),
        (rect.x0, rect.y0, rect.x1, rect.y1),
        strict=True,
    ):
        assert got == pytest.approx(want, abs=0.5)
    assert image.content_type == "image/png"
    assert image.name == "page2-image1.png"
    assert image.context is not None
    assert "market share" in image.context
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.size == (120, 90)
        assert decoded.convert("RGB").getpixel((60, 45)) == (220, 20, 20)


def test_same_image_on_two_pages_is_two_parts_in_reading_order() -> None:
    document = fitz.open()
    blue = image_bytes((64, 64), (0, 0, 200))
    green = image_bytes((64, 64), (0, 160, 0))
    page = document.new_page()
    page.insert_image(fitz.Rect(50, 500, 150, 600), stream=blue)  # lower on the page
    page.insert_image(fitz.Rect(50, 100, 150, 200), stream=green)  # higher: read first
    document.new_page().insert_image(fitz.Rect(50, 100, 150, 200), stream=blue)
    images = extract_document(document.tobytes(), "application/pdf").image_parts
    assert [(image.page, image.index) for image in images] == [(1, 0), (1, 1), (2, 2)]
    first, second, _ = images
    assert first.bbox is not None
    assert second.bbox is not None
    assert first.bbox.y0 < second.bbox.y0


def test_jpeg_images_keep_their_format() -> None:
    document = fitz.open()
    document.new_page().insert_image(
        fitz.Rect(0, 0, 200, 150), stream=image_bytes((200, 150), (10, 120, 200), "JPEG")
    )
    (image,) = extract_document(document.tobytes(), "application/pdf").image_parts
    assert image.content_type == "image/jpeg"
    assert image.data.startswith(b"\xff\xd8")


def test_transparent_png_comes_back_as_png_with_alpha() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (255, 0, 0, 128)).save(buffer, "PNG")
    document = fitz.open()
    document.new_page().insert_image(fitz.Rect(0, 0, 64, 64), stream=buffer.getvalue())
    (image,) = extract_document(document.tobytes(), "application/pdf").image_parts
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.mode in {"RGBA", "LA"}


def test_scanned_page_without_text_still_gives_its_image() -> None:
    document = fitz.open()
    page = document.new_page()
    page.insert_image(page.rect, stream=image_bytes((400, 560), (240, 240, 230)))
    extracted = extract_document(document.tobytes(), "application/pdf")
    assert extracted.text_parts == ()
    assert extracted.page_count == 1
    (image,) = extracted.image_parts
    assert image.page == 1
    assert image.context is None


def test_image_count_is_capped_with_a_warning() -> None:
    document = fitz.open()
    page = document.new_page()
    for index in range(3):
        color = (index * 80, 0, 0)
        page.insert_image(
            fitz.Rect(50, 50 + index * 150, 150, 150 + index * 150),
            stream=image_bytes((40, 40), color),
        )
    extracted = extract_document(
        document.tobytes(), "application/pdf", limits=ExtractionLimits(max_images_per_document=2)
    )
    assert len(extracted.image_parts) == 2
    assert any("only the first 2" in warning for warning in extracted.warnings)


def test_min_image_side_is_configurable() -> None:
    data, _ = two_page_pdf()
    limits = ExtractionLimits(min_image_side=4)
    assert len(extract_document(data, "application/pdf", limits=limits).image_parts) == 2


def test_encrypted_pdf_is_an_extraction_error() -> None:
    document = fitz.open()
    document.new_page().insert_text((72, 72), "secret")
    data = document.tobytes(encryption=fitz.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")
    with pytest.raises(ExtractionError, match="PDF is encrypted"):
        extract_document(data, "application/pdf")


@pytest.mark.parametrize("data", [b"this is not a pdf at all", b"", b"%PDF-1.7\n\x00\x01garbage"])
def test_corrupt_pdf_is_an_extraction_error(data: bytes) -> None:
    with pytest.raises(ExtractionError, match="PDF cannot be opened"):
        extract_document(data, "application/pdf")


def test_too_many_pages_is_an_extraction_error() -> None:
    document = fitz.open()
    for _ in range(3):
        document.new_page()
    with pytest.raises(ExtractionError, match="3 pages, over the limit 2"):
        extract_document(
            document.tobytes(), "application/pdf", limits=ExtractionLimits(max_pdf_pages=2)
        )


def test_garbage_that_repairs_to_no_pages_is_an_error() -> None:
    corrupt = b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage garbage\n%%EOF"
    with pytest.raises(ExtractionError, match="no pages"):
        extract_document(corrupt, "application/pdf")
