"""Embedding chunks (runs in a worker thread: CPU-bound, never on the event loop)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexer.chunks import Chunk, embedded_text
from indexer.encoders.base import Encoders
from indexer.encoders.settings import DEFAULT_IMAGE_MAX_SIDE
from indexer.settings import IndexerSettings

if TYPE_CHECKING:
    from PIL import Image

    from indexer.encoders.base import Vectors

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
    chunks: Sequence[Chunk],
    encoders: Encoders,
    settings: IndexerSettings,
    *,
    image_max_side: int = DEFAULT_IMAGE_MAX_SIDE,
) -> dict[str, ChunkVectors]:
    """Vectors for every chunk that can be embedded; a chunk missing from the result has
    nothing to embed it with (an undecodable image without a description, say).

    Each distinct input is encoded once, however many chunks share it (a footer repeated
    in every page of a batch, the same logo in several documents): texts by what is
    embedded, images by their bytes (decoded, read by OCR and embedded once). Images are
    decoded at most ``image_max_side`` large (``EncoderSettings.image_max_side``)."""
    from indexer.extract.images import load_rgb_for_model

    texts = [chunk for chunk in chunks if chunk.image is None]
    image_of = {
        chunk.chunk_id: chunk.image_sha256 or chunk.chunk_id
        for chunk in chunks
        if chunk.image is not None
    }
    decoded: dict[str, Image.Image] = {}
    for chunk in chunks:
        key = image_of.get(chunk.chunk_id)
        if chunk.image is None or key is None or key in decoded:
            continue
        try:
            decoded[key] = load_rgb_for_model(
                chunk.image.data, max_side=image_max_side, max_pixels=settings.max_image_pixels
            )
        except Exception as error:
            logger.warning("image_skipped chunk_id=%s reason=%s", chunk.chunk_id, error)

    read: dict[str, str] = {}
    if encoders.ocr is not None:
        for key, image in decoded.items():
            try:
                read[key] = encoders.ocr.recognise(image)
            except Exception as error:  # OCR is a bonus: never fail the document for it
                logger.warning("ocr_failed image=%s reason=%s", key, error)
    ocr_texts = {cid: read[key] for cid, key in image_of.items() if key in read}

    described = {
        chunk.chunk_id: description
        for chunk in chunks
        if (description := text_for_text_model(chunk, ocr_texts.get(chunk.chunk_id, "")))
    }
    text_vectors = embed_distinct(encoders.text.embed_texts, described)

    clip_vectors: dict[str, list[float]] = {}
    if encoders.clip is not None:
        clip_vectors.update(
            embed_distinct(encoders.clip.embed_texts, {c.chunk_id: c.text for c in texts})
        )
        if decoded:
            rows = encoders.clip.embed_images(list(decoded.values()))
            row_of = {key: number for number, key in enumerate(decoded)}
            clip_vectors.update(
                {cid: rows[row_of[key]].tolist() for cid, key in image_of.items() if key in row_of}
            )

    vectors = {}
    for chunk in chunks:
        text, clip = text_vectors.get(chunk.chunk_id), clip_vectors.get(chunk.chunk_id)
        if text is not None or clip is not None:
            vectors[chunk.chunk_id] = ChunkVectors(
                ocr_texts.get(chunk.chunk_id) or None, text, clip
            )
    return vectors


def embed_distinct(
    embed: Callable[[Sequence[str]], Vectors], texts: Mapping[str, str]
) -> dict[str, list[float]]:
    """``texts`` (by chunk id) embedded with each distinct text encoded once."""
    if not texts:
        return {}
    distinct = list(dict.fromkeys(texts.values()))
    rows = embed(distinct)
    row_of = {text: number for number, text in enumerate(distinct)}
    return {chunk_id: rows[row_of[text]].tolist() for chunk_id, text in texts.items()}
