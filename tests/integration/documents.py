"""Test documents made on the fly: real Markdown, PDFs with pictures, photos, bad files."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

WORDS = [
    "stream",
    "index",
    "kafka",
    "event",
    "chunk",
    "vector",
    "search",
    "image",
    "text",
    "model",
    "batch",
    "offset",
    "partition",
    "document",
    "revision",
    "manifest",
    "embedding",
    "cluster",
    "node",
    "query",
    "fusion",
    "rank",
    "answer",
    "citation",
    "change",
    "watcher",
    "folder",
    "file",
    "delete",
    "rename",
    "update",
    "fresh",
    "second",
    "latency",
    "throughput",
]


def paragraph(seed: int, words: int = 80) -> str:
    generator = random.Random(seed)
    body = " ".join(generator.choice(WORDS) for _ in range(words))
    return f"Paragraph {seed} says: {body}."


def markdown_document(paragraphs: int = 50, edited: int | None = None) -> str:
    lines = ["# Operations handbook", ""]
    for number in range(paragraphs):
        if number % 10 == 0:
            lines += [f"## Part {number // 10 + 1}", ""]
        text = paragraph(number)
        if number == edited:
            text = paragraph(10_000 + number)
        lines += [text, ""]
    return "\n".join(lines)


def picture(color: str, size: tuple[int, int] = (256, 192), shape: str = "circle") -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    box = (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4)
    if shape == "circle":
        draw.ellipse(box, fill=color)
    else:
        draw.rectangle(box, fill=color)
    return image


def jpeg_bytes(color: str = "orange", size: tuple[int, int] = (640, 480)) -> bytes:
    buffer = io.BytesIO()
    picture(color, size).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def png_bytes(color: str = "blue", shape: str = "rectangle") -> bytes:
    buffer = io.BytesIO()
    picture(color, shape=shape).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_with_picture(path: Path) -> None:
    import pymupdf

    fitz: Any = pymupdf  # unannotated library
    document = fitz.open()
    first = document.new_page()
    first.insert_text((72, 72), "Quarterly report: the red circle diagram shows throughput.")
    first.insert_image(fitz.Rect(100, 150, 356, 342), stream=png_bytes("red", "circle"))
    second = document.new_page()
    second.insert_text((72, 72), "Second page: latency stayed under one second.")
    document.save(path)
    document.close()


def corrupt_pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage garbage\n%%EOF")


def decompression_bomb_png(path: Path, side: int = 30_000) -> None:
    """A valid PNG header announcing side×side pixels, with almost no data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
