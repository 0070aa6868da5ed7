"""Vectors a chunking group copies from the live generation instead of embedding again.

A chunk id is derived from the document, the modality and the normalised content (a text
chunk's context and text, an image's bytes and description), so most chunks of a
document keep their ids under another chunk size (every chunk of a short document, say).
A group that is not the live one (``indexer.generations.group_indexer``) asks the live
generation for the chunks it is about to embed; one stored with the same text and
context, by exactly the group's models, has its vectors (and OCR text) copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch

from indexer.chunks import Chunk
from indexer.generations.elastic_io import read_by_id
from indexer.store.errors import unavailable_as_transient
from indexer.vectors import ChunkVectors


def reusable(
    source: Mapping[str, Any], chunk: Chunk, text_model: str, clip_model: str | None
) -> ChunkVectors | None:
    """The stored chunk's vectors when they are what embedding ``chunk`` with these
    models would give (pure): same text and context, same models, a vector from each."""
    if source.get("text") != chunk.text or source.get("context") != chunk.context:
        return None
    if source.get("text_model") != text_model or source.get("clip_model") != clip_model:
        return None
    text = source.get("text_vector")
    clip = source.get("clip_vector")
    if text is None or (clip_model is not None and clip is None):
        return None
    return ChunkVectors(
        ocr_text=source.get("ocr_text"),
        text=[float(value) for value in text],
        clip=[float(value) for value in clip] if clip is not None else None,
    )


class LiveVectors:
    """:class:`indexer.batch_embedding.StoredVectors` on the generation behind the alias
    (real-time reads by id)."""

    def __init__(self, client: AsyncElasticsearch, alias: str) -> None:
        """``client``: owned by the caller."""
        self._client = client
        self._alias = alias

    async def find(
        self, chunks: Sequence[Chunk], text_model: str, clip_model: str | None
    ) -> dict[str, ChunkVectors]:
        if not chunks:
            return {}
        with unavailable_as_transient("reading the live generation's vectors"):
            found = await read_by_id(self._client, self._alias, [c.chunk_id for c in chunks])
        copied = {}
        for chunk in chunks:
            source = found.get(chunk.chunk_id)
            vectors = reusable(source, chunk, text_model, clip_model) if source else None
            if vectors is not None:
                copied[chunk.chunk_id] = vectors
        return copied
