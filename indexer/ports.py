"""The indexer's ports: what the pipeline needs from a store, what the worker needs from
the pipeline. Implementations are named by technology (``ElasticsearchStore``,
``InMemoryChunkStore``, ``IndexingPipeline``); the contract tests in
``tests/contract/`` hold every ``ChunkStore`` to the docstrings below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from indexer.events import ChangeEvent
from indexer.manifest import Manifest
from indexer.outcomes import BatchResult
from indexer.store.mappings import VectorSpace
from indexer.store.records import DocumentWrite


class ChunkStore(Protocol):
    """Where chunks and the documents' manifests live.

    Every method raises :class:`indexer.errors.StoreUnavailable` when the store cannot
    answer right now (the caller retries, then stops without committing); nothing else a
    backend says is swallowed. ``ensure_indexes`` comes before any read or write.
    """

    async def wait_until_ready(self) -> None:
        """Return once the store serves reads and writes; ``StoreUnavailable`` otherwise."""

    async def ensure_indexes(self, space: VectorSpace) -> str:
        """Create what is missing for ``space`` and return the current generation's name.

        Idempotent. Raises :class:`indexer.store.GenerationMismatch` when the current
        generation was built for another vector space."""

    async def load_manifests(self, doc_ids: Sequence[str]) -> dict[str, Manifest]:
        """The stored manifest of each of these documents that has one (deleted
        documents keep a manifest marked ``deleted``); unknown ids are left out."""

    async def existing_chunk_ids(self, chunk_ids: Sequence[str]) -> set[str]:
        """The subset of ``chunk_ids`` the store holds now."""

    async def apply(self, writes: Sequence[DocumentWrite]) -> dict[str, str]:
        """Apply each document's chunk operations, then store its manifest.

        A document whose chunk writes all succeeded gets its manifest stored; one that
        failed permanently (a field the strict mapping lacks, a vector of another
        dimension, an update of a chunk that is not there) is returned as
        ``doc_id → reason`` and its manifest is left as it was; the other documents of
        the call are not affected. Deleting a chunk that is not there succeeds. A
        manifest older than the stored one (lower revision) is ignored, not an error.
        Idempotent: applying the same writes twice leaves the same state."""

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""


class ChangeIndexer(Protocol):
    """Brings the store up to date with a batch of change events (``IndexingPipeline``)."""

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult:
        """Index the events; ``cached`` holds manifests the caller already knows (newer
        than or equal to the stored ones). A bad document fails alone (its outcomes say
        ``failed`` with a stage and reason); ``TransientError`` means nothing of the batch
        is known to be done and the whole batch must be retried."""

    async def close(self) -> None:
        """Release the store and the readers."""
