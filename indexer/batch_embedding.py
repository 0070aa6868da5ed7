"""Embedding a batch's new chunks: all documents in one go, in a worker thread.

Every call into a model goes through the ``Encoders`` given here (a caller may wrap them,
in a priority gate say) and runs in a worker thread, never on the event loop. Should the
batch's embedding raise, each document is embedded on its own and one whose chunks cannot
be embedded fails alone (stage ``encode``); a :class:`TransientError` is the batch's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from indexer.chunks import Chunk
from indexer.encoders.base import Encoders
from indexer.errors import TransientError
from indexer.settings import IndexerSettings
from indexer.vectors import ChunkVectors, embed_chunks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchVectors:
    vectors: dict[str, ChunkVectors] = field(default_factory=dict)
    """By chunk id; a chunk left out has nothing to embed it with."""
    failures: dict[str, str] = field(default_factory=dict)
    """``doc_id → reason`` for documents whose chunks could not be embedded."""


class BatchEmbedder:
    def __init__(self, encoders: Encoders, settings: IndexerSettings, image_max_side: int):
        self._encoders = encoders
        self._settings = settings
        self._image_max_side = image_max_side

    async def embed(self, chunks_by_document: Mapping[str, Sequence[Chunk]]) -> BatchVectors:
        everything = [chunk for chunks in chunks_by_document.values() for chunk in chunks]
        if not everything:
            return BatchVectors()
        try:
            return BatchVectors(await self._embed(everything))
        except TransientError:
            raise
        except Exception:
            logger.exception("embedding_crashed chunks=%d: retrying per document", len(everything))
        result = BatchVectors()
        for doc_id, chunks in chunks_by_document.items():
            if not chunks:
                continue
            try:
                result.vectors.update(await self._embed(chunks))
            except TransientError:
                raise
            except Exception as error:
                reason = f"embedding failed: {type(error).__name__}: {error}"
                logger.error("document_failed stage=encode doc_id=%s %s", doc_id, reason)
                result.failures[doc_id] = reason
        return result

    async def _embed(self, chunks: Sequence[Chunk]) -> dict[str, ChunkVectors]:
        return await asyncio.to_thread(
            embed_chunks,
            chunks,
            self._encoders,
            self._settings,
            image_max_side=self._image_max_side,
        )
