"""What processing a batch decided: per-event outcomes, per-document targets, totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from indexer.chunks import Chunk
from indexer.dead_letters import Stage
from indexer.events import ChangeEvent
from indexer.manifest import ChunkPosition, Manifest

Status = Literal[
    "indexed", "restored", "unchanged", "deleted", "moved", "stale", "superseded", "failed"
]
"""``restored``: the content was unchanged but chunks the manifest lists were missing from
the index (lost with it, say): they were written again."""


@dataclass
class EventOutcome:
    event: ChangeEvent
    status: Status
    reason: str | None = None
    stage: Stage | None = None
    """For ``failed``: where it failed (``fetch``, ``extract``, ``encode``, ``store``)."""


@dataclass
class BatchResult:
    outcomes: list[EventOutcome] = field(default_factory=list)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_deleted: int = 0
    images_embedded: int = 0
    extract_seconds: float = 0.0
    embed_seconds: float = 0.0
    store_seconds: float = 0.0

    def failed(self) -> list[EventOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    def add(self, other: BatchResult) -> None:
        """Fold in the result of another part of the same batch."""
        self.outcomes.extend(other.outcomes)
        self.manifests.update(other.manifests)
        self.chunks_embedded += other.chunks_embedded
        self.chunks_reused += other.chunks_reused
        self.chunks_deleted += other.chunks_deleted
        self.images_embedded += other.images_embedded
        self.extract_seconds += other.extract_seconds
        self.embed_seconds += other.embed_seconds
        self.store_seconds += other.store_seconds


@dataclass
class DocumentTarget:
    """Where one document must end up after the batch."""

    doc_id: str
    start: Manifest | None
    manifest: Manifest | None = None
    chunks: dict[str, Chunk] = field(default_factory=dict)
    """Chunk objects for the target's ids that came from a fresh extraction."""
    outcomes: list[EventOutcome] = field(default_factory=list)
    missing: frozenset[str] = frozenset()
    """Chunk ids the starting manifest lists that the index does not hold."""

    @property
    def changed(self) -> bool:
        return self.manifest is not None and self.manifest is not self.start

    @property
    def stored_positions(self) -> tuple[ChunkPosition, ...]:
        """The chunks Elasticsearch holds for the document before the batch."""
        if self.start is None or self.start.deleted:
            return ()
        return tuple(p for p in self.start.chunks if p.chunk_id not in self.missing)

    def fail(self, stage: Stage, reason: str) -> None:
        """Write nothing of this batch for the document: each event that would have changed
        it fails with ``reason`` (and is dead-lettered, to be replayed)."""
        self.manifest = self.start
        self.chunks = {}
        for outcome in self.outcomes:
            if outcome.status not in ("stale", "failed"):
                outcome.status, outcome.reason, outcome.stage = "failed", reason, stage
