"""OCR with the real RapidOCR models (shipped in the package): text in images becomes
searchable text of the image chunk."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.chunks import Chunk
from indexer.documents import ImagePart, Modality
from indexer.encoders.base import Encoders
from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder
from indexer.encoders.settings import EncoderSettings
from indexer.manifest import ChunkPosition
from indexer.ocr import RapidOcrRecogniser
from indexer.settings import IndexerSettings
from indexer.vectors import embed_chunks, text_for_text_model


def _sign(text: str) -> Image.Image:
    image = Image.new("RGB", (900, 260), "white")
    draw = ImageDraw.Draw(image)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            "DejaVuSans.ttf", 56
        )
    except OSError:
        font = ImageFont.load_default(size=56)
    draw.text((40, 90), text, fill="black", font=font)
    return image


@pytest.fixture(scope="module")
def recogniser() -> RapidOcrRecogniser:
    return RapidOcrRecogniser()


def test_reads_printed_text(recogniser: RapidOcrRecogniser) -> None:
    assert "Throughput 42%" in recogniser.recognise(_sign("Throughput 42%"))


def test_blank_and_tiny_images_give_no_text(recogniser: RapidOcrRecogniser) -> None:
    assert recogniser.recognise(Image.new("RGB", (400, 300), "white")) == ""
    assert recogniser.recognise(Image.new("RGB", (20, 20), "black")) == ""


def test_image_chunks_carry_the_text_read_in_them(recogniser: RapidOcrRecogniser) -> None:
    buffer = io.BytesIO()
    _sign("Quarterly revenue").save(buffer, "PNG")
    chunk = Chunk(
        chunk_id="c1",
        modality=Modality.IMAGE,
        position=ChunkPosition(chunk_id="c1", modality="image", order=0),
        text="",
        image=ImagePart(data=buffer.getvalue(), name=None),
    )
    text = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2", EncoderSettings())
    vectors = embed_chunks(
        [chunk], Encoders(text=text, clip=None, ocr=recogniser), IndexerSettings()
    )
    ocr_text = vectors["c1"].ocr_text
    assert ocr_text is not None
    assert " ".join(ocr_text.split()) == "Quarterly revenue"  # one line per detected box
    assert vectors["c1"].text is not None  # found by the text model, without any CLIP
    assert vectors["c1"].clip is None
    without_ocr = embed_chunks([chunk], Encoders(text=text, clip=None), IndexerSettings())
    assert "c1" not in without_ocr  # nothing describes it: no vector, not indexed
    assert text_for_text_model(chunk, "Quarterly revenue") == "Quarterly revenue"
