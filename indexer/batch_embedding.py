"""Embedding a batch's new chunks: all documents in one go, in a worker thread.

Every call into a model goes through the ``Encoders`` given here (a caller may wrap them,
in a priority gate say) and runs in a worker thread, never on the event loop. Should the
batch's embedding raise, each document is embedded on its own and one whose chunks cannot
be embedded fails alone (stage ``encode``); a :class:`TransientError` is the batch's.

With a :class:`StoredVectors` (a chunking group that is not the live one: the live
generation holds many of its chunks already), the vectors of chunks stored elsewhere by
the same models are copied rather than computed; only the others are embedded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from indexer.chunks import Chunk
from indexer.encoders.base import Encoders
from indexer.errors import TransientError
from indexer.settings import IndexerSettings
from indexer.vectors import ChunkVectors, embed_chunks

logger = logging.getLogger(__name__)


class StoredVectors(Protocol):
    """Vectors already made for identical chunks (the live generation's, say)."""

    async def find(
        self, chunks: Sequence[Chunk], text_model: str, clip_model: str | None
    ) -> dict[str, ChunkVectors]:
        """By chunk id, the stored vectors of those ``chunks`` stored with the same id,
        text and context, made by exactly these models (``clip_model`` ``None``: none);
        the others are left out. Raises what the store raises."""


@dataclass(frozen=True)
class BatchVectors:
    vectors: dict[str, ChunkVectors] = field(default_factory=dict)
    """By chunk id; a chunk left out has nothing to embed it with."""
    failures: dict[str, str] = field(default_factory=dict)
    """``doc_id → reason`` for documents whose chunks could not be embedded."""
    copied: frozenset[str] = frozenset()
    """The chunk ids in ``vectors`` copied from :class:`StoredVectors`, not embedded."""


class BatchEmbedder:
    def __init__(
        self,
        encoders: Encoders,
        settings: IndexerSettings,
        image_max_side: int,
        stored: StoredVectors | None = None,
    ):
        self._encoders = encoders
        self._settings = settings
        self._image_max_side = image_max_side
        self._stored = stored

    async def embed(self, chunks_by_document: Mapping[str, Sequence[Chunk]]) -> BatchVectors:
        copied = await self._copied(chunks_by_document)
        if not copied:
            return await self._embed_all(chunks_by_document)
        left = {
            doc_id: [chunk for chunk in chunks if chunk.chunk_id not in copied]
            for doc_id, chunks in chunks_by_document.items()
        }
        embedded = await self._embed_all(left)
        return BatchVectors({**copied, **embedded.vectors}, embedded.failures, frozenset(copied))

    async def _copied(
        self, chunks_by_document: Mapping[str, Sequence[Chunk]]
    ) -> dict[str, ChunkVectors]:
        """Stored vectors of these chunks (none when they cannot be read: embedded)."""
        everything = [chunk for chunks in chunks_by_document.values() for chunk in chunks]
        if self._stored is None or not everything:
            return {}
        clip = self._encoders.clip
        try:
            return await self._stored.find(
                everything, self._encoders.text.name, clip.name if clip else None
            )
        except Exception as error:  # reuse saves time, it is never needed
            logger.warning("stored_vectors_unreadable chunks=%d %s", len(everything), error)
            return {}

    async def _embed_all(self, chunks_by_document: Mapping[str, Sequence[Chunk]]) -> BatchVectors:
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
