"""PDF image bombs: an image's declared size is checked before anything is decoded.

Each case runs in a fresh interpreter so that its peak RSS is its own: a 49 KB PDF that
declares a 20,000 × 20,000 image took a worker 768 MB up before the fix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from indexer.errors import ExtractionError
from indexer.extract import ExtractionLimits
from indexer.extract.pdf import extract_pdf, extract_pdf_image
from tests.unit.hostile_files import image_bomb_pdf
from tests.unit.test_extract_pdf import image_bytes

fitz: Any = pymupdf
ROOT = Path(__file__).resolve().parents[2]
MAX_GROWTH_MB = 64

_MEASURE = """
import json, resource, sys
from indexer.extract.pdf import extract_pdf, extract_pdf_image
from tests.unit.hostile_files import image_bomb_pdf
data = image_bomb_pdf(20_000, in_soft_mask=sys.argv[1] == "mask")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
document = extract_pdf(data)
try:
    extract_pdf_image(data, index=0, page=1)
    single = "served"
except Exception as error:
    single = type(error).__name__
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "growth_mb": (after - before) / 1024,
    "text": [part.text for part in document.text_parts],
    "images": len(document.image_parts),
    "warnings": list(document.warnings),
    "single": single,
}))
"""


@pytest.mark.parametrize("where", ["image", "mask"])
def test_declared_huge_image_is_skipped_without_decoding(where: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(run.stdout)
    assert result["growth_mb"] < MAX_GROWTH_MB, result
    assert result["text"] == ["Cover page"]  # the document's text is still indexed
    assert result["images"] == 0
    assert "20000x20000 pixels, over the limit 64000000" in result["warnings"][0]
    assert result["single"] == "ExtractionError"  # the thumbnail path refuses it too


def test_pixel_limit_applies_to_the_declared_size() -> None:
    data = image_bomb_pdf(9_000)  # 81 megapixels
    refused = extract_pdf(data, limits=ExtractionLimits(max_image_pixels=80_000_000))
    assert refused.image_parts == ()
    assert "9000x9000" in refused.warnings[0]


def _pdf_with_images(count: int) -> bytes:
    document = fitz.open()
    page = document.new_page()
    for number in range(count):
        color = (40 * number, 10, 200 - 40 * number)
        page.insert_image(
            fitz.Rect(50, 50 + 150 * number, 170, 140 + 150 * number),
            stream=image_bytes((60 + number, 40), color),
        )
    data: bytes = document.tobytes()
    document.close()
    return data


def test_one_image_is_found_by_its_number_as_extraction_numbered_it() -> None:
    data = _pdf_with_images(3)
    document = extract_pdf(data)
    assert [image.index for image in document.image_parts] == [0, 1, 2]
    for image in document.image_parts:
        assert extract_pdf_image(data, index=image.index, page=image.page) == image.data
    with pytest.raises(ExtractionError, match="no image 3"):
        extract_pdf_image(data, index=3, page=1)
    with pytest.raises(ExtractionError, match="no image 1 on page 2"):
        extract_pdf_image(data, index=1, page=2)
