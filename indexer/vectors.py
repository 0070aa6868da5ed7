"""Embedding chunks (runs in a worker thread: CPU-bound, never on the event loop)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from indexer.chunks import Chunk
from indexer.encoders.base import Encoders
from indexer.settings import IndexerSettings

logger = logging.getLogger(__name__)

CONTEXT_CHARS = 300


@dataclass(frozen=True)
class ChunkVectors:
    text: list[float] | None
    """From the text model: the chunk's text, or an image's description."""
    clip: list[float] | None
    """From the CLIP model: the image itself, or a text chunk's leading window."""


def text_for_text_model(chunk: Chunk) -> str:
    """A text chunk's text; for an image, what describes it (alt text, caption, name) and
    the words around it (the PDF page, the section), so images are found by text even
    without a CLIP model."""
    if chunk.image is None:
        return chunk.text
    context = (chunk.context or "").strip()[:CONTEXT_CHARS]
    return " — ".join(part for part in (chunk.text.strip(), context) if part)


def embed_chunks(
    chunks: Sequence[Chunk], encoders: Encoders, settings: IndexerSettings
) -> dict[str, ChunkVectors]:
    """Vectors for every chunk that can be embedded; a chunk missing from the result has
    nothing to embed it with (an undecodable image without a description, say)."""
    from indexer.extract.images import load_rgb_for_model

    texts = [chunk for chunk in chunks if chunk.image is None]
    images = [chunk for chunk in chunks if chunk.image is not None]
    described = [chunk for chunk in chunks if text_for_text_model(chunk)]

    text_vectors = {}
    if described:
        rows = encoders.text.embed_texts([text_for_text_model(chunk) for chunk in described])
        text_vectors = {chunk.chunk_id: rows[i].tolist() for i, chunk in enumerate(described)}

    clip_vectors: dict[str, list[float]] = {}
    if encoders.clip is not None:
        if texts:
            rows = encoders.clip.embed_texts([chunk.text for chunk in texts])
            clip_vectors.update({c.chunk_id: rows[i].tolist() for i, c in enumerate(texts)})
        decoded = []
        for chunk in images:
            assert chunk.image is not None
            try:
                decoded.append(
                    (
                        chunk,
                        load_rgb_for_model(
                            chunk.image.data,
                            max_side=1024,
                            max_pixels=settings.max_image_pixels,
                        ),
                    )
                )
            except Exception as error:
                logger.warning("image_skipped chunk_id=%s reason=%s", chunk.chunk_id, error)
        if decoded:
            rows = encoders.clip.embed_images([image for _, image in decoded])
            clip_vectors.update({c.chunk_id: rows[i].tolist() for i, (c, _) in enumerate(decoded)})

    vectors = {}
    for chunk in chunks:
        text, clip = text_vectors.get(chunk.chunk_id), clip_vectors.get(chunk.chunk_id)
        if text is not None or clip is not None:
            vectors[chunk.chunk_id] = ChunkVectors(text, clip)
    return vectors
