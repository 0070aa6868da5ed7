"""Embedding chunks (runs in a worker thread: CPU-bound, never on the event loop)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexer.chunks import Chunk, embedded_text
from indexer.encoders.base import Encoders
from indexer.settings import IndexerSettings

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

CONTEXT_CHARS = 300
OCR_CHARS = 1000


@dataclass(frozen=True)
class ChunkVectors:
    ocr_text: str | None
    """Text read in the image (image chunks, when OCR is on)."""
    text: list[float] | None
    """From the text model: the chunk's text, or an image's description."""
    clip: list[float] | None
    """From the CLIP model: the image itself, or a text chunk's leading window."""


def text_for_text_model(chunk: Chunk, ocr_text: str = "") -> str:
    """A text chunk's context (title and heading path) and text; for an image, what
    describes it (alt text, caption, name), the text read in it, and the words around it
    (the PDF page, the section), so images are found by text even without a CLIP model."""
    if chunk.image is None:
        return embedded_text(chunk)
    context = (chunk.context or "").strip()[:CONTEXT_CHARS]
    parts = (chunk.text.strip(), ocr_text.strip()[:OCR_CHARS], context)
    return " — ".join(part for part in parts if part)


def embed_chunks(
    chunks: Sequence[Chunk], encoders: Encoders, settings: IndexerSettings
) -> dict[str, ChunkVectors]:
    """Vectors for every chunk that can be embedded; a chunk missing from the result has
    nothing to embed it with (an undecodable image without a description, say)."""
    from indexer.extract.images import load_rgb_for_model

    texts = [chunk for chunk in chunks if chunk.image is None]
    decoded: dict[str, Image.Image] = {}
    for chunk in chunks:
        if chunk.image is None:
            continue
        try:
            decoded[chunk.chunk_id] = load_rgb_for_model(
                chunk.image.data, max_side=1024, max_pixels=settings.max_image_pixels
            )
        except Exception as error:
            logger.warning("image_skipped chunk_id=%s reason=%s", chunk.chunk_id, error)

    ocr_texts: dict[str, str] = {}
    if encoders.ocr is not None:
        for chunk_id, image in decoded.items():
            try:
                ocr_texts[chunk_id] = encoders.ocr.recognise(image)
            except Exception as error:  # OCR is a bonus: never fail the document for it
                logger.warning("ocr_failed chunk_id=%s reason=%s", chunk_id, error)

    described = {
        chunk.chunk_id: description
        for chunk in chunks
        if (description := text_for_text_model(chunk, ocr_texts.get(chunk.chunk_id, "")))
    }
    text_vectors: dict[str, list[float]] = {}
    if described:
        rows = encoders.text.embed_texts(list(described.values()))
        text_vectors = {chunk_id: rows[i].tolist() for i, chunk_id in enumerate(described)}

    clip_vectors: dict[str, list[float]] = {}
    if encoders.clip is not None:
        if texts:
            rows = encoders.clip.embed_texts([chunk.text for chunk in texts])
            clip_vectors.update({c.chunk_id: rows[i].tolist() for i, c in enumerate(texts)})
        if decoded:
            rows = encoders.clip.embed_images(list(decoded.values()))
            clip_vectors.update({cid: rows[i].tolist() for i, cid in enumerate(decoded)})

    vectors = {}
    for chunk in chunks:
        text, clip = text_vectors.get(chunk.chunk_id), clip_vectors.get(chunk.chunk_id)
        if text is not None or clip is not None:
            vectors[chunk.chunk_id] = ChunkVectors(
                ocr_texts.get(chunk.chunk_id) or None, text, clip
            )
    return vectors
