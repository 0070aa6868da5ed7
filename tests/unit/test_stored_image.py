"""Reading a stored image chunk's bytes again (``indexer.stored_image``), on real files:
the image file itself, a PDF's image by number, an image a page references, and the
chunks that name no image."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from indexer.errors import IndexerError
from indexer.extract import ExtractionLimits
from indexer.read_scope import ReadScope
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.stored_image import NoStoredImage, ScopeForTarget, read_stored_image
from tests.integration import documents

LIMITS = ExtractionLimits(max_bytes=10_000_000, max_image_pixels=50_000_000)


@pytest.fixture
async def reader() -> AsyncIterator[ContentReader]:
    content = ContentReader(IndexerSettings())
    yield content
    await content.close()


def _scope_under(root: Path, asked: list[str]) -> ScopeForTarget:
    roots = (root.resolve(),)

    async def scope(target: str) -> ReadScope:
        asked.append(target)
        return ReadScope(source="fs:test", roots=roots)

    return scope


async def test_an_image_file_a_referenced_image_and_a_pdf_image_are_read_again(
    reader: ContentReader, tmp_path: Path
) -> None:
    photo = documents.jpeg_bytes()
    (tmp_path / "photo.jpg").write_bytes(photo)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "figure.png").write_bytes(documents.png_bytes())
    documents.pdf_with_picture(tmp_path / "report.pdf")
    asked: list[str] = []
    scope = _scope_under(tmp_path, asked)

    image_file = {"uri": (tmp_path / "photo.jpg").as_uri(), "content_type": "image/jpeg"}
    assert await read_stored_image(reader, image_file, scope, LIMITS) == photo

    page = (tmp_path / "page.md").as_uri()
    referenced = {"uri": page, "image_reference": "img/figure.png"}
    assert await read_stored_image(reader, referenced, scope, LIMITS) == documents.png_bytes()
    assert asked[-1] == (tmp_path / "img" / "figure.png").as_uri()  # the image's own scope

    pdf = {"uri": (tmp_path / "report.pdf").as_uri(), "image_index": 0, "page": 1}
    extracted = await read_stored_image(reader, pdf, scope, LIMITS)
    assert Image.open(io.BytesIO(extracted)).size[0] > 0  # a decodable image


async def test_chunks_that_name_no_image_and_reads_outside_the_roots_fail_clearly(
    reader: ContentReader, tmp_path: Path
) -> None:
    documents.pdf_with_picture(tmp_path / "report.pdf")
    (tmp_path / "notes.md").write_text("# Notes\n")
    scope = _scope_under(tmp_path / "elsewhere", [])
    inside = _scope_under(tmp_path, [])

    no_number = {"uri": (tmp_path / "report.pdf").as_uri()}
    with pytest.raises(NoStoredImage, match="no image number"):
        await read_stored_image(reader, no_number, inside, LIMITS)
    text = {"uri": (tmp_path / "notes.md").as_uri()}
    with pytest.raises(NoStoredImage, match="no stored image behind"):
        await read_stored_image(reader, text, inside, LIMITS)
    outside = {"uri": (tmp_path / "report.pdf").as_uri(), "image_index": 0}
    with pytest.raises(IndexerError):
        await read_stored_image(reader, outside, scope, LIMITS)
