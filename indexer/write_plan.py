"""Turning documents' changes into Elasticsearch operations (pure).

Given what is stored (the manifest at the start of the batch), what should be (the change's
manifest), which chunk ids Elasticsearch already holds and the vectors just computed:
new chunks are indexed with their vectors, new chunks Elasticsearch already holds (a
replay, or a write that landed before a crash) only get their position and document fields,
kept chunks are updated only where their position or the document's fields changed, and
chunks that went are deleted. A chunk that could not be embedded is left out of the
manifest, so the manifest always says what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from indexer.diff import ChunkDiff, diff_positions
from indexer.manifest import Manifest
from indexer.outcomes import DocumentChange
from indexer.store.records import (
    ChunkOperation,
    DocumentWrite,
    chunk_source,
    document_fields,
    position_fields,
)
from indexer.vectors import ChunkVectors


@dataclass(frozen=True)
class ModelNames:
    text: str
    clip: str | None


@dataclass
class WriteCounts:
    deleted: int = 0
    reused: int = 0


@dataclass
class WritePlan:
    writes: list[DocumentWrite] = field(default_factory=list)
    """One per change, in order; each carries the manifest to store."""
    counts: WriteCounts = field(default_factory=WriteCounts)

    @property
    def manifests(self) -> dict[str, Manifest]:
        """The manifest each document will have once its write is applied."""
        return {write.doc_id: write.manifest for write in self.writes}


class IncompleteManifest(ValueError):
    """A manifest to write chunks for has no document fields (a bug of ours)."""


def planned_diff(change: DocumentChange) -> ChunkDiff:
    """What it takes to go from what is stored to the change's manifest."""
    wanted = () if change.manifest.deleted else change.manifest.chunks
    return diff_positions(change.stored_positions, wanted)


def plan_writes(
    changes: Sequence[DocumentChange],
    vectors: Mapping[str, ChunkVectors],
    already_stored: Set[str],
    models: ModelNames,
) -> WritePlan:
    """One ``DocumentWrite`` per change, whose manifest leaves out the chunks that are
    neither stored nor embedded (so it says what is stored); the changes are not touched."""
    plan = WritePlan()
    for change in changes:
        diff = planned_diff(change)
        unembeddable = {
            p.chunk_id
            for p in diff.new
            if p.chunk_id not in already_stored and p.chunk_id not in vectors
        }
        if unembeddable:  # keep the manifest true to what is stored
            change = change.with_manifest(change.manifest.without_chunks(unembeddable))
            diff = planned_diff(change)
        manifest = change.manifest
        operations = [ChunkOperation("delete", chunk_id) for chunk_id in diff.removed]
        plan.counts.deleted += len(diff.removed)
        if not manifest.deleted:
            operations.extend(chunk_operations(change, diff, vectors, already_stored, models))
            plan.counts.reused += len(diff.kept) + sum(
                1 for p in diff.new if p.chunk_id in already_stored
            )
        plan.writes.append(DocumentWrite(change.doc_id, operations, manifest))
    return plan


def chunk_operations(
    change: DocumentChange,
    diff: ChunkDiff,
    vectors: Mapping[str, ChunkVectors],
    already_stored: Set[str],
    models: ModelNames,
) -> list[ChunkOperation]:
    manifest, start = change.manifest, change.start
    fields = manifest.fields
    if fields is None:
        raise IncompleteManifest(f"manifest of {change.doc_id} has no document fields")
    start_fields = start.fields if start is not None and not start.deleted else None
    operations = []
    for position in diff.new:
        if position.chunk_id in already_stored:
            body = {**position_fields(position), **document_fields(fields, manifest.revision)}
            operations.append(ChunkOperation("update", position.chunk_id, body))
            continue
        chunk = change.chunks[position.chunk_id]
        vector = vectors[position.chunk_id]
        operations.append(
            ChunkOperation(
                "index",
                position.chunk_id,
                chunk_source(
                    chunk,
                    doc_id=change.doc_id,
                    fields=fields,
                    revision=manifest.revision,
                    text_vector=vector.text,
                    clip_vector=vector.clip,
                    ocr_text=vector.ocr_text,
                    text_model=models.text,
                    clip_model=models.clip,
                    emitted_at=manifest.emitted_at,
                    indexed_at=manifest.indexed_at,
                ),
            )
        )
    repositioned = {position.chunk_id for position in diff.repositioned}
    fields_changed = start_fields != fields
    for position in diff.kept:
        changes: dict[str, object] = {}
        if position.chunk_id in repositioned:
            changes.update(position_fields(position))
        if fields_changed:
            changes.update(document_fields(fields, manifest.revision))
        if changes:
            operations.append(ChunkOperation("update", position.chunk_id, changes))
    return operations
