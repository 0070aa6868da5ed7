"""What processing a batch decided: per-event outcomes, per-document changes, totals.

    FoldedDocument ── one per document of the batch: its events' outcomes, and
       └─ DocumentChange (or None: nothing to write) ── where the document must end up

All of them are frozen: a later step that changes its mind (embedding or storing a
document failed) makes a new value (:meth:`FoldedDocument.failed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class EventOutcome:
    """What became of one event. A ``failed`` outcome always says at which ``stage``
    (``fetch``, ``extract``, ``encode``, ``store``, ``internal``) and why; no other
    outcome has a stage."""

    event: ChangeEvent
    status: Status
    reason: str | None = None
    stage: Stage | None = None

    def __post_init__(self) -> None:
        if (self.status == "failed") != (self.stage is not None):
            raise ValueError(
                f"a {self.status} outcome {'needs' if self.stage is None else 'has no'} stage"
            )

    @classmethod
    def failure(cls, event: ChangeEvent, stage: Stage, reason: str) -> EventOutcome:
        return cls(event, "failed", reason, stage)


@dataclass
class BatchResult:
    outcomes: list[EventOutcome] = field(default_factory=list)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    chunks_embedded: int = 0
    vectors_copied: int = 0
    """New chunks whose vectors were copied from the live generation (a chunking group
    that is not the live one), not embedded."""
    chunks_reused: int = 0
    chunks_deleted: int = 0
    images_embedded: int = 0
    extract_seconds: float = 0.0
    embed_seconds: float = 0.0
    store_seconds: float = 0.0

    def add(self, other: BatchResult) -> None:
        """Fold in the result of another part of the same batch."""
        self.outcomes.extend(other.outcomes)
        self.manifests.update(other.manifests)
        self.chunks_embedded += other.chunks_embedded
        self.vectors_copied += other.vectors_copied
        self.chunks_reused += other.chunks_reused
        self.chunks_deleted += other.chunks_deleted
        self.images_embedded += other.images_embedded
        self.extract_seconds += other.extract_seconds
        self.embed_seconds += other.embed_seconds
        self.store_seconds += other.store_seconds


@dataclass(frozen=True)
class DocumentChange:
    """Where one document must end up after the batch, against what is stored."""

    doc_id: str
    start: Manifest | None
    """The manifest at the start of the batch (None: never indexed)."""
    manifest: Manifest
    """The manifest to store once the chunks are written."""
    chunks: Mapping[str, Chunk] = field(default_factory=dict)
    """Chunk objects for the manifest's ids that came from a fresh extraction."""
    missing: frozenset[str] = frozenset()
    """Chunk ids the starting manifest lists that the index does not hold."""

    @property
    def stored_positions(self) -> tuple[ChunkPosition, ...]:
        """The chunks the store holds for the document before the batch."""
        if self.start is None or self.start.deleted:
            return ()
        return tuple(p for p in self.start.chunks if p.chunk_id not in self.missing)

    def with_manifest(self, manifest: Manifest) -> DocumentChange:
        return replace(self, manifest=manifest)


@dataclass(frozen=True)
class FoldedDocument:
    """One document's events folded: their outcomes and the change they make, if any."""

    doc_id: str
    outcomes: tuple[EventOutcome, ...]
    change: DocumentChange | None = None
    """None: nothing to write (every event stale, superseded or failed)."""

    def failed(self, stage: Stage, reason: str) -> FoldedDocument:
        """Write nothing of this batch for the document: each event that would have changed
        it fails with ``reason`` (and is dead-lettered, to be replayed)."""
        outcomes = tuple(
            outcome
            if outcome.status in ("stale", "failed")
            else EventOutcome.failure(outcome.event, stage, reason)
            for outcome in self.outcomes
        )
        return FoldedDocument(self.doc_id, outcomes)
