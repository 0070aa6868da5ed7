"""Generate the binary demo files: ``report.pdf`` and the two photos under ``photos/``.

The pictures are synthetic (drawn with Pillow) so that the repository carries no third-party
images, and the output is deterministic so that re-running the script changes nothing.
Run from anywhere: ``python examples/make_examples.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import pymupdf
from PIL import Image, ImageDraw, ImageFont

fitz: Any = pymupdf  # pymupdf is mostly unannotated

HERE = Path(__file__).resolve().parent
FIXED_DATE = "D:20250101000000Z"

PAGE_ONE = [
    "Streaming index: quarterly report",
    "This report summarises three months of running the streaming indexer on the team's "
    "shared documents. Over the quarter the collection grew from eleven thousand to "
    "fourteen thousand files, while the median time from saving a file to finding it in "
    "search stayed just above one second.",
    "Most of that second is the refresh interval of the search index. Extraction, chunking "
    "and the comparison with the previous version of a document take a few milliseconds "
    "for ordinary files; encoding new chunks dominates the remaining cost, which is why "
    "only chunks with changed text are sent to the encoder.",
    "Failures were rare and contained. Forty-two events went to the dead-letter topic, "
    "almost all of them encrypted or truncated PDFs. None of them delayed other updates, "
    "and all were replayed once the files had been replaced.",
]
PAGE_TWO = [
    "Image search",
    "Pictures are indexed alongside text. The figure below is a test image used to check "
    "that a figure inside a PDF can be found by describing it, even though the sentences "
    "around it say little about its shape or colour.",
]
CAPTION = "Figure 1: red circle diagram."
PAGE_TWO_END = (
    "Next quarter the team plans to add optical character recognition for scanned pages, "
    "so that the text inside pictures becomes searchable as well."
)


def red_circle_diagram() -> bytes:
    """A red circle on white, labelled "red circle diagram", as PNG."""
    image = Image.new("RGB", (480, 360), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((140, 50, 340, 250), fill=(220, 30, 30), outline=(120, 0, 0), width=4)
    font = ImageFont.load_default(size=28)
    draw.text((240, 300), "red circle diagram", fill="black", font=font, anchor="mm")
    return _encode(image, "PNG")


def sunset() -> bytes:
    """An orange gradient sky with a sun disc over a dark sea, as JPEG."""
    width, height = 640, 427
    sky = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB",
        (
            sky.point(lambda v: 255 - v // 6),
            sky.point(lambda v: 200 - v * 2 // 3),
            sky.point(lambda v: 60 + v // 4),
        ),
    )
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 190, 390, 330), fill=(255, 214, 90))
    draw.rectangle((0, 290, width, height), fill=(40, 30, 70))
    for row in range(300, height, 14):
        draw.line((250 - (row - 290), row, 390 + (row - 290), row), fill=(230, 140, 60), width=2)
    return _encode(image, "JPEG", quality=85)


def forest() -> bytes:
    """Rows of green triangular trees on a pale sky, as PNG."""
    image = Image.new("RGB", (640, 427), (215, 235, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 340, 640, 427), fill=(90, 70, 40))
    for depth, (shade, base, size) in enumerate(
        [((70, 140, 80), 300, 90), ((40, 120, 55), 345, 120), ((20, 90, 35), 400, 150)]
    ):
        for index in range(-1, 10):
            x = index * 75 + depth * 30
            tree = [(x, base), (x + size // 2, base - size * 1.6), (x + size, base)]
            draw.polygon(tree, fill=shade)
    return _encode(image, "PNG", optimize=True)


def report_pdf() -> bytes:
    """Two pages of text; page two carries the red circle diagram and its caption."""
    document = fitz.open()
    first = document.new_page(width=595, height=842)
    _write(first, PAGE_ONE, top=72)
    second = document.new_page(width=595, height=842)
    bottom = _write(second, PAGE_TWO, top=72)
    figure = fitz.Rect(157, bottom + 16, 437, bottom + 16 + 210)
    second.insert_image(figure, stream=red_circle_diagram())
    second.insert_textbox(
        fitz.Rect(72, figure.y1 + 8, 523, figure.y1 + 30), CAPTION, fontsize=10, align=1
    )
    second.insert_textbox(
        fitz.Rect(72, figure.y1 + 44, 523, figure.y1 + 120), PAGE_TWO_END, fontsize=11
    )
    document.set_metadata(
        {
            "title": "Streaming index: quarterly report",
            "author": "mmrag examples",
            "creationDate": FIXED_DATE,
            "modDate": FIXED_DATE,
        }
    )
    data: bytes = document.tobytes(garbage=4, deflate=True, no_new_id=True)
    document.close()
    return data


def _write(page: Any, paragraphs: list[str], *, top: float) -> float:
    """Write a heading and paragraphs from ``top`` down; return where the text ends."""
    y = top
    for index, text in enumerate(paragraphs):
        size = 16 if index == 0 else 11
        height = 28 if index == 0 else 16 * (len(text) // 80 + 2)
        rect = fitz.Rect(72, y, 523, y + height)
        left = page.insert_textbox(rect, text, fontsize=size, fontname="helv")
        y += height - max(0.0, float(left)) + 10
    return y


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    out: Path = parser.parse_args(argv).out
    (out / "photos").mkdir(parents=True, exist_ok=True)
    outputs = {
        out / "report.pdf": report_pdf(),
        out / "photos" / "sunset.jpg": sunset(),
        out / "photos" / "forest.png": forest(),
    }
    for path, data in outputs.items():
        path.write_bytes(data)
        print(f"wrote {path} ({len(data) // 1024} KiB)")


if __name__ == "__main__":
    main()
