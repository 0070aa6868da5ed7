"""Each distinct input is encoded once per batch: the same embedded text in several
chunks (a footer on every page, a section two documents share) or the same image bytes
in several documents reach the encoder once, and every chunk still gets its vector."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from indexer.chunks import Chunk, embedded_text
from indexer.documents import ImagePart, Modality
from indexer.encoders.base import Encoders
from indexer.events import DocumentMetadata
from indexer.manifest import ChunkPosition
from indexer.settings import IndexerSettings
from indexer.vectors import embed_chunks
from tests.unit.test_pipeline_types import CountingEncoder, event, ready_pipeline

if TYPE_CHECKING:
    from indexer.encoders.base import Vectors

FOOTER = "Copyright the authors. All rights reserved under the licence."


class CountingClip:
    """A tiny deterministic CLIP stand-in that records what it is asked to embed."""

    name = "counting-clip"
    dimensions = 3
    max_text_tokens = 77

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.image_sizes: list[tuple[int, int]] = []

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        rows: Vectors = np.full((len(texts), 3), 3**-0.5, np.float32)
        return rows

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        self.image_sizes.extend(image.size for image in images)
        rows: Vectors = np.full((len(images), 3), 3**-0.5, np.float32)
        return rows


class CountingOcr:
    def __init__(self) -> None:
        self.calls = 0

    def recognise(self, image: Image.Image) -> str:
        self.calls += 1
        return "LOGO"


def _png(size: tuple[int, int], colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def _image_chunk(chunk_id: str, data: bytes, alt: str) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        modality=Modality.IMAGE,
        position=ChunkPosition(chunk_id=chunk_id, modality="image", order=0),
        text=alt,
        image=ImagePart(data=data, alt_text=alt),
        image_sha256=f"sha-of-{len(data)}-{data[-12:].hex()}",
    )


async def test_a_text_shared_by_documents_of_a_batch_is_embedded_once() -> None:
    encoder = CountingEncoder()
    pipeline, store = await ready_pipeline(encoder)
    same_title = DocumentMetadata(title="Release notes")
    bodies = {"a": FOOTER, "b": FOOTER, "c": "A body of its own."}
    events = [
        event(doc_id, 1, body).model_copy(update={"metadata": same_title})
        for doc_id, body in bodies.items()
    ]
    result = await pipeline.process(events)
    assert [o.status for o in result.outcomes] == ["indexed"] * 3
    embedded = encoder.texts
    assert len(embedded) == len(set(embedded)) == 2
    assert sum(FOOTER in text for text in embedded) == 1
    chunk_ids = [cid for m in result.manifests.values() for cid in m.chunk_ids]
    assert len(set(chunk_ids)) == 3  # every chunk is stored with its vector
    assert set(store.chunks) == set(chunk_ids)
    vectors = [store.chunks[result.manifests[d].chunk_ids[0]]["text_vector"] for d in "abc"]
    assert vectors[0] == vectors[1] != vectors[2]
    assert result.chunks_embedded == 3


def test_repeated_text_and_image_bytes_are_encoded_once_and_fanned_out() -> None:
    text, clip, ocr = CountingEncoder(), CountingClip(), CountingOcr()
    logo = _png((600, 300), "navy")
    other = _png((64, 64), "red")
    texts = [
        Chunk(
            f"t{n}",
            Modality.TEXT,
            ChunkPosition(chunk_id=f"t{n}", modality="text", order=n),
            FOOTER,
            embedding_context="Page",
        )
        for n in range(3)
    ]
    images = [
        _image_chunk("i1", logo, "logo"),
        _image_chunk("i2", logo, "logo"),
        _image_chunk("i3", other, "a red square"),
    ]
    vectors = embed_chunks(
        [*texts, *images],
        Encoders(text=text, clip=clip, ocr=ocr),
        IndexerSettings(),
        image_max_side=200,
    )
    assert set(vectors) == {"t0", "t1", "t2", "i1", "i2", "i3"}
    assert text.texts.count(embedded_text(texts[0])) == 1
    assert len(text.texts) == len(set(text.texts)) == 3  # footer, logo, red square
    assert clip.texts == [FOOTER]
    assert clip.image_sizes == [(200, 100), (64, 64)]  # decoded once each, at most 200
    assert ocr.calls == 2
    assert vectors["i2"].ocr_text == "LOGO"
    assert vectors["i1"].text == vectors["i2"].text
    assert vectors["t2"].clip is not None
