"""What processing a batch decided: per-event outcomes, per-document targets, totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from indexer.chunks import Chunk
from indexer.events import ChangeEvent
from indexer.manifest import ChunkPosition, Manifest

Status = Literal["indexed", "unchanged", "deleted", "moved", "stale", "superseded", "failed"]


@dataclass
class EventOutcome:
    event: ChangeEvent
    status: Status
    reason: str | None = None


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


@dataclass
class DocumentTarget:
    """Where one document must end up after the batch."""

    doc_id: str
    start: Manifest | None
    manifest: Manifest | None = None
    chunks: dict[str, Chunk] = field(default_factory=dict)
    """Chunk objects for the target's ids that came from a fresh extraction."""
    outcomes: list[EventOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.manifest is not None and self.manifest is not self.start

    @property
    def stored_positions(self) -> tuple[ChunkPosition, ...]:
        """The chunks Elasticsearch holds for the document before the batch."""
        return self.start.chunks if self.start and not self.start.deleted else ()
