"""Turning a document's target into Elasticsearch operations (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from indexer.chunks import Chunk, ChunkingOptions, build_chunks
from indexer.documents import ExtractedDocument, TextPart
from indexer.manifest import DocumentFields, Manifest
from indexer.outcomes import DocumentChange
from indexer.vectors import ChunkVectors
from indexer.write_plan import ModelNames, WritePlan, plan_writes

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
MODELS = ModelNames("minilm", "clip")
FIELDS = DocumentFields(source="fs:t", uri="file:///t/a.md", title="A")


def chunks_of(*paragraphs: str) -> list[Chunk]:
    document = ExtractedDocument(title="A", text_parts=tuple(TextPart(text) for text in paragraphs))
    return build_chunks("d", document, ChunkingOptions())


def manifest(chunks: list[Chunk], revision: int, fields: DocumentFields = FIELDS) -> Manifest:
    return Manifest(
        doc_id="d",
        revision=revision,
        fields=fields,
        chunks=tuple(chunk.position for chunk in chunks),
        emitted_at=NOW,
    )


def vectors_for(chunks: list[Chunk]) -> dict[str, ChunkVectors]:
    return {c.chunk_id: ChunkVectors(ocr_text=None, text=[0.1], clip=[0.2]) for c in chunks}


def plan(
    change: DocumentChange, vectors: dict[str, ChunkVectors], stored: set[str] | None = None
) -> WritePlan:
    return plan_writes([change], vectors, stored or set(), MODELS)


def actions(result: WritePlan) -> list[tuple[str, str]]:
    return [(op.action, op.chunk_id) for write in result.writes for op in write.operations]


def test_a_new_document_indexes_every_chunk_with_its_vectors_and_models() -> None:
    chunks = chunks_of("First paragraph.", "Second paragraph.")
    target = DocumentChange("d", None, manifest(chunks, 1), {c.chunk_id: c for c in chunks})
    result = plan(target, vectors_for(chunks))
    assert actions(result) == [("index", c.chunk_id) for c in chunks]
    body = result.writes[0].operations[0].body
    assert body is not None
    assert body["text_model"] == "minilm"
    assert body["clip_model"] == "clip"
    assert result.counts.reused == 0


def test_an_edit_indexes_the_new_chunk_deletes_the_old_and_leaves_the_rest() -> None:
    before = chunks_of("Stays.", "Old words.")
    after = chunks_of("Stays.", "New words.")
    target = DocumentChange(
        "d", manifest(before, 1), manifest(after, 2), {c.chunk_id: c for c in after}
    )
    result = plan(target, vectors_for(after[1:]))
    assert actions(result) == [("delete", before[1].chunk_id), ("index", after[1].chunk_id)]
    assert (result.counts.deleted, result.counts.reused) == (1, 1)


def test_a_replayed_chunk_already_stored_is_updated_not_embedded_again() -> None:
    chunks = chunks_of("Only paragraph.")
    target = DocumentChange("d", None, manifest(chunks, 3), {c.chunk_id: c for c in chunks})
    result = plan(target, {}, stored={chunks[0].chunk_id})
    assert actions(result) == [("update", chunks[0].chunk_id)]
    assert result.counts.reused == 1


def test_changed_document_fields_reach_kept_chunks() -> None:
    chunks = chunks_of("Stays.")
    renamed = FIELDS.model_copy(update={"title": "B"})
    target = DocumentChange("d", manifest(chunks, 1), manifest(chunks, 2, fields=renamed))
    result = plan(target, {})
    assert actions(result) == [("update", chunks[0].chunk_id)]
    body = result.writes[0].operations[0].body
    assert body is not None
    assert body["title"] == "B"
    unchanged = DocumentChange("d", manifest(chunks, 1), manifest(chunks, 2))
    assert actions(plan(unchanged, {})) == []


def test_a_chunk_that_could_not_be_embedded_is_left_out_of_the_manifest() -> None:
    chunks = chunks_of("Embedded.", "Not embedded.")
    planned = manifest(chunks, 1)
    target = DocumentChange("d", None, planned, {c.chunk_id: c for c in chunks})
    result = plan(target, vectors_for(chunks[:1]))
    assert actions(result) == [("index", chunks[0].chunk_id)]
    written = result.writes[0].manifest
    assert [p.chunk_id for p in written.chunks] == [chunks[0].chunk_id]
    assert result.manifests == {"d": written}
    assert target.manifest is planned  # plan_writes is pure: the change is not touched
    assert len(planned.chunks) == 2


def test_a_deleted_document_deletes_every_stored_chunk_and_writes_nothing_else() -> None:
    chunks = chunks_of("One.", "Two.")
    gone = Manifest(doc_id="d", revision=2, deleted=True, fields=FIELDS, emitted_at=NOW)
    target = DocumentChange("d", manifest(chunks, 1), gone)
    result = plan(target, {})
    assert actions(result) == [("delete", c.chunk_id) for c in chunks]
    assert result.counts.deleted == 2
