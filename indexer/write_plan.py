"""Turning a document's target into Elasticsearch operations (pure).

Given what is stored (the manifest at the start of the batch), what should be (the target
manifest), which chunk ids Elasticsearch already holds and the vectors just computed:
new chunks are indexed with their vectors, new chunks Elasticsearch already holds (a
replay, or a write that landed before a crash) only get their position and document fields,
kept chunks are updated only where their position or the document's fields changed, and
chunks that went are deleted. A chunk that could not be embedded is left out of the
manifest, so the manifest always says what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from indexer.diff import ChunkDiff, diff_positions
from indexer.manifest import Manifest
from indexer.outcomes import DocumentTarget
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
    counts: WriteCounts = field(default_factory=WriteCounts)


class IncompleteManifest(ValueError):
    """A manifest to write chunks for has no document fields (a bug of ours)."""


def planned_diff(target: DocumentTarget, manifest: Manifest) -> ChunkDiff:
    """What it takes to go from what is stored to ``manifest`` (the target's)."""
    wanted = () if manifest.deleted else manifest.chunks
    return diff_positions(target.stored_positions, wanted)


def plan_writes(
    plans: list[tuple[DocumentTarget, Manifest, ChunkDiff]],
    vectors: Mapping[str, ChunkVectors],
    already_stored: set[str],
    models: ModelNames,
) -> WritePlan:
    """One ``DocumentWrite`` per changed document. Trims each target's manifest of chunks
    that are neither stored nor embedded."""
    plan = WritePlan()
    for target, manifest, diff in plans:
        unembeddable = {
            p.chunk_id
            for p in diff.new
            if p.chunk_id not in already_stored and p.chunk_id not in vectors
        }
        if unembeddable:  # keep the manifest true to what is stored
            manifest = manifest.model_copy(
                update={
                    "chunks": tuple(p for p in manifest.chunks if p.chunk_id not in unembeddable)
                }
            )
            target.manifest = manifest
            diff = planned_diff(target, manifest)
        operations = [ChunkOperation("delete", chunk_id) for chunk_id in diff.removed]
        plan.counts.deleted += len(diff.removed)
        if not manifest.deleted:
            operations.extend(
                chunk_operations(target, manifest, diff, vectors, already_stored, models)
            )
            plan.counts.reused += len(diff.kept) + sum(
                1 for p in diff.new if p.chunk_id in already_stored
            )
        plan.writes.append(DocumentWrite(target.doc_id, operations, manifest))
    return plan


def chunk_operations(
    target: DocumentTarget,
    manifest: Manifest,
    diff: ChunkDiff,
    vectors: Mapping[str, ChunkVectors],
    already_stored: set[str],
    models: ModelNames,
) -> list[ChunkOperation]:
    fields = manifest.fields
    if fields is None:
        raise IncompleteManifest(f"manifest of {target.doc_id} has no document fields")
    start_fields = target.start.fields if target.start and not target.start.deleted else None
    operations = []
    for position in diff.new:
        chunk = target.chunks[position.chunk_id]
        if position.chunk_id in already_stored:
            body = {**position_fields(position), **document_fields(fields, manifest.revision)}
            operations.append(ChunkOperation("update", position.chunk_id, body))
            continue
        vector = vectors[position.chunk_id]
        operations.append(
            ChunkOperation(
                "index",
                position.chunk_id,
                chunk_source(
                    chunk,
                    doc_id=target.doc_id,
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
