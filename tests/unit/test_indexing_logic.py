"""Pure parts of the indexer: folding events, diffing chunks, ids, ES bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from indexer.chunks import ChunkingOptions, build_chunks, chunk_identity
from indexer.diff import diff_positions
from indexer.documents import BoundingBox, ExtractedDocument, ImagePart, Modality, TextPart
from indexer.events import ChangeEvent
from indexer.folding import fold_events
from indexer.manifest import ChunkPosition, DocumentFields, Manifest
from indexer.store.mappings import VectorSpace, chunk_index_body, generation_index_name
from indexer.store.records import chunk_source, document_fields, position_fields

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _event(op: str, revision: int, **extra: Any) -> ChangeEvent:
    return ChangeEvent.model_validate(
        {
            "event_id": f"{op}-{revision}",
            "source": "fs:t",
            "doc_id": "d",
            "op": op,
            "uri": extra.pop("uri", "file:///t/a.md"),
            "revision": revision,
            "emitted_at": NOW,
            **extra,
        }
    )


def _manifest(revision: int, deleted: bool = False) -> Manifest:
    return Manifest(doc_id="d", revision=revision, deleted=deleted)


def test_fold_marks_stale_and_superseded_and_reads_from_the_final_location() -> None:
    events = [
        _event("upsert", 5),  # older than the manifest
        _event("upsert", 20),  # replaced by the next upsert
        _event("upsert", 21),
        _event("move", 22, new_uri="file:///t/b.md"),
    ]
    steps = fold_events(events, _manifest(10))
    assert [step.action for step in steps] == ["stale", "superseded", "content", "move"]
    assert steps[2].read_uri == "file:///t/b.md"


def test_fold_treats_a_move_of_an_unknown_document_as_content() -> None:
    steps = fold_events([_event("move", 3, new_uri="file:///t/b.md")], None)
    assert [(s.action, s.read_uri) for s in steps] == [("content", "file:///t/b.md")]


def test_fold_delete_then_recreate() -> None:
    steps = fold_events([_event("delete", 11), _event("upsert", 12)], _manifest(10))
    assert [step.action for step in steps] == ["delete", "content"]
    replay = fold_events([_event("upsert", 10), _event("delete", 9)], _manifest(10))
    assert [step.action for step in replay] == ["stale", "stale"]


def _position(chunk_id: str, order: int, page: int | None = None) -> ChunkPosition:
    return ChunkPosition(chunk_id=chunk_id, modality="text", order=order, page=page)


def test_diff_splits_new_removed_kept_and_repositioned() -> None:
    previous = [_position("a", 0), _position("b", 1), _position("c", 2)]
    target = [_position("a", 0), _position("x", 1), _position("c", 2, page=3)]
    diff = diff_positions(previous, target)
    assert [p.chunk_id for p in diff.new] == ["x"]
    assert diff.removed == ["b"]
    assert [p.chunk_id for p in diff.kept] == ["a", "c"]
    assert [p.chunk_id for p in diff.repositioned] == ["c"]


def test_diff_of_identical_positions_is_empty() -> None:
    same = [_position("a", 0), _position("b", 1)]
    diff = diff_positions(same, same)
    assert diff.new == []
    assert diff.removed == []
    assert diff.repositioned == []


def test_chunk_ids_depend_on_document_content_and_occurrence() -> None:
    one = chunk_identity("d", Modality.TEXT, "hello", 0)
    assert one == chunk_identity("d", Modality.TEXT, "hello", 0)
    assert one != chunk_identity("e", Modality.TEXT, "hello", 0)
    assert one != chunk_identity("d", Modality.IMAGE, "hello", 0)
    assert one != chunk_identity("d", Modality.TEXT, "hello", 1)


def test_build_chunks_keeps_repeated_text_and_separates_images() -> None:
    document = ExtractedDocument(
        title="T",
        text_parts=(
            TextPart("Same words.", char_start=0, page=1),
            TextPart("Same words.", char_start=13, page=2),
        ),
        image_parts=(
            ImagePart(
                data=b"png-bytes",
                page=1,
                bbox=BoundingBox(1, 2, 3, 4),
                alt_text="a diagram",
                caption="Figure 1",
            ),
        ),
    )
    chunks = build_chunks("d", document, ChunkingOptions())
    assert [c.modality for c in chunks] == [Modality.TEXT, Modality.TEXT, Modality.IMAGE]
    assert len({c.chunk_id for c in chunks}) == 3
    assert [c.position.order for c in chunks] == [0, 1, 2]
    image = chunks[2]
    assert image.position.bbox == (1, 2, 3, 4)
    assert image.text == "a diagram — Figure 1"
    # Whitespace-only edits keep ids; a caption edit changes the image's id.
    again = build_chunks(
        "d",
        ExtractedDocument(
            title="T",
            text_parts=(
                TextPart("Same   words.", char_start=0, page=1),
                TextPart("Same words.", char_start=15, page=2),
            ),
            image_parts=(ImagePart(data=b"png-bytes", alt_text="a diagram", caption="Fig. 1"),),
        ),
        ChunkingOptions(),
    )
    assert [c.chunk_id for c in again[:2]] == [c.chunk_id for c in chunks[:2]]
    assert again[2].chunk_id != image.chunk_id


def test_chunk_index_body_has_vectors_filters_and_meta() -> None:
    space = VectorSpace("minilm", 384, "clip", 512)
    body = chunk_index_body(space, index_type="int8_hnsw", refresh_interval="1s")
    properties = body["mappings"]["properties"]
    assert properties["text_vector"] == {
        "type": "dense_vector",
        "dims": 384,
        "index": True,
        "similarity": "cosine",
        "index_options": {"type": "int8_hnsw"},
    }
    assert properties["clip_vector"]["dims"] == 512
    assert properties["acl"] == {"type": "keyword"}
    assert properties["text"] == {"type": "text"}
    assert properties["section"] == {
        "type": "keyword",
        "ignore_above": 1024,
        "copy_to": "section_text",
    }
    assert properties["section_text"] == {"type": "text"}
    assert properties["title"]["type"] == "text"
    assert properties["title"]["fields"]["keyword"]["type"] == "keyword"
    assert body["mappings"]["dynamic"] == "strict"
    assert body["mappings"]["_meta"]["text_model"] == "minilm"
    no_clip = chunk_index_body(
        VectorSpace("minilm", 384, None, None), index_type="hnsw", refresh_interval="1s"
    )
    assert "clip_vector" not in no_clip["mappings"]["properties"]
    assert generation_index_name("mmrag-chunks", 3) == "mmrag-chunks-000003"


def test_chunk_source_carries_document_fields_positions_and_vectors() -> None:
    document = ExtractedDocument(title=None, text_parts=(TextPart("Words here.", page=2),))
    chunk = build_chunks("d", document, ChunkingOptions())[0]
    fields = DocumentFields(source="fs:t", uri="file:///t/a.md", tags=("x",), acl=("team",))
    source = chunk_source(
        chunk,
        doc_id="d",
        fields=fields,
        revision=7,
        text_vector=[0.1, 0.2],
        clip_vector=None,
        text_model="m",
        clip_model="c",
        emitted_at=NOW,
        indexed_at=NOW,
    )
    assert source["doc_id"] == "d"
    assert source["page"] == 2
    assert source["acl"] == ["team"]
    assert source["text_vector"] == [0.1, 0.2]
    assert "clip_vector" not in source
    assert "clip_model" not in source
    assert source["text_model"] == "m"
    assert position_fields(chunk.position)["order"] == 0
    assert document_fields(fields, 7)["revision"] == 7
