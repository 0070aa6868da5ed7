"""Rebuilding a generation that chunks differently, the pure parts: the events rebuilt
from manifests (what the worker needs to read a document again), the reconcile decision
per document, the text of an inline (CMS) document rebuilt from its stored chunks, and
when an out-of-sync document is published again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from indexer.events import MAX_INLINE_TEXT_BYTES, ChangeEvent, Operation, decode_change_event
from indexer.generations.republish import (
    INLINE_CONTENT_TYPE,
    Action,
    ChunkCheck,
    DocumentState,
    NotRepublishable,
    Pending,
    TextSpan,
    check_document,
    decide,
    delete_event,
    reads_inline,
    spans_of,
    text_from_chunks,
    upsert_event,
)
from indexer.manifest import ChunkPosition, DocumentFields, Manifest
from indexer.read_scope import declared_root, scope_of
from indexer.settings import IndexerSettings
from stream.watcher.events import change_to_event
from stream.watcher.planning import ObservedFile, PlannedChange

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _file_manifest(root: str = "/data/docs", path: str = "guide/intro.md") -> Manifest:
    return Manifest(
        doc_id="fs:docs:abc",
        revision=1_700_000_000_000,
        fields=DocumentFields(
            source="fs:docs",
            uri=f"file://{root}/{path}",
            content_type="text/markdown",
            title="Intro",
            acl=("team-a",),
            root=root,
        ),
        content_sha256="a" * 64,
        pipeline_version="chunks/2:200:40:bert:context=48",
        chunks=(ChunkPosition(chunk_id="c1", modality="text", order=0),),
    )


def _cms_manifest() -> Manifest:
    return Manifest(
        doc_id="cms:blog:42",
        revision=17,
        fields=DocumentFields(
            source="cms:blog",
            uri="https://cms.example/posts/42",
            content_type="text/markdown",
            title="Release notes",
            tags=("news",),
            author="Ann",
            url="https://example.com/42",
        ),
    )


# ── events rebuilt from manifests ────────────────────────────────────────────────────


def test_a_file_event_says_where_the_worker_may_read_it_again(tmp_path: Path) -> None:
    event = upsert_event(_file_manifest(), emitted_at=NOW, salt="rechunk:g3:1")
    assert (event.op, event.doc_id, event.revision) == (
        Operation.UPSERT,
        "fs:docs:abc",
        1_700_000_000_000,
    )
    assert event.uri == "file:///data/docs/guide/intro.md"
    assert event.metadata.extra == {"root": "/data/docs", "path": "guide/intro.md"}
    assert declared_root(event) == "/data/docs"
    assert event.metadata.title is None  # the document's own title, as the watcher sends
    assert event.acl == ("team-a",)
    assert event.content_type == "text/markdown"
    assert event.text is None
    # the event survives the wire
    assert decode_change_event(event.to_json_bytes()) == event


def test_a_rebuilt_file_event_reads_in_the_same_scope_as_the_watchers(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "guide").mkdir(parents=True)
    (root / "guide" / "intro.md").write_text("# Intro")
    observed = ObservedFile("guide/intro.md", 7, 1_700_000_000_000, "b" * 64)
    original = change_to_event(
        PlannedChange(Operation.UPSERT, "fs:docs:abc", "guide/intro.md", 5, observed=observed),
        source="fs:docs",
        root=root,
        emitted_at=NOW,
    )
    rebuilt = upsert_event(_file_manifest(str(root), "guide/intro.md"), emitted_at=NOW, salt="s")
    settings = IndexerSettings()
    assert scope_of(rebuilt, settings) == scope_of(original, settings)
    assert rebuilt.uri == original.uri
    assert rebuilt.metadata.extra == original.metadata.extra


def test_event_ids_differ_from_the_originals_and_between_builds() -> None:
    manifest = _file_manifest()
    one = upsert_event(manifest, emitted_at=NOW, salt="rechunk:g3:1")
    again = upsert_event(manifest, emitted_at=NOW, salt="rechunk:g3:1")
    other = upsert_event(manifest, emitted_at=NOW, salt="rechunk:g4:1")
    assert one.event_id == again.event_id
    assert one.event_id != other.event_id


def test_an_inline_document_carries_its_rebuilt_text_as_plain_text() -> None:
    manifest = _cms_manifest()
    assert reads_inline(manifest)
    assert not reads_inline(_file_manifest())
    event = upsert_event(manifest, emitted_at=NOW, salt="s", text="Hello again")
    assert event.text == "Hello again"
    assert event.content_type == INLINE_CONTENT_TYPE
    assert event.content_sha256 is None
    assert (event.metadata.title, event.metadata.tags, event.metadata.author) == (
        "Release notes",
        ("news",),
        "Ann",
    )
    assert event.metadata.url == "https://example.com/42"
    assert event.metadata.extra == {}


def test_a_delete_event_has_the_given_revision_and_no_content() -> None:
    event = delete_event(_cms_manifest(), 20, emitted_at=NOW, salt="s")
    assert (event.op, event.revision, event.text) == (Operation.DELETE, 20, None)
    assert isinstance(ChangeEvent.model_validate_json(event.to_json_bytes()), ChangeEvent)


def test_a_manifest_without_fields_or_deleted_is_not_republished() -> None:
    bare = Manifest(doc_id="x", revision=1)
    with pytest.raises(NotRepublishable):
        upsert_event(bare, emitted_at=NOW, salt="s")
    with pytest.raises(NotRepublishable):
        delete_event(bare, 2, emitted_at=NOW, salt="s")
    deleted = _file_manifest().model_copy(update={"deleted": True})
    with pytest.raises(NotRepublishable):
        upsert_event(deleted, emitted_at=NOW, salt="s")


def test_a_file_outside_its_root_keeps_the_root_only() -> None:
    manifest = _file_manifest()
    assert manifest.fields is not None
    moved = manifest.model_copy(
        update={"fields": manifest.fields.model_copy(update={"uri": "file:///elsewhere/x.md"})}
    )
    event = upsert_event(moved, emitted_at=NOW, salt="s")
    assert event.metadata.extra == {"root": "/data/docs"}


# ── the reconcile decision ───────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("live", "candidate", "action"),
    [
        (DocumentState(5), DocumentState(5), Action.IN_SYNC),
        (None, None, Action.IN_SYNC),
        (DocumentState(5, deleted=True), None, Action.IN_SYNC),
        (DocumentState(5, deleted=True), DocumentState(3, deleted=True), Action.IN_SYNC),
        (DocumentState(5), None, Action.UPSERT),
        (DocumentState(5), DocumentState(4), Action.UPSERT),
        (DocumentState(5), DocumentState(4, deleted=True), Action.UPSERT),
        (DocumentState(5), DocumentState(6), Action.WAIT),
        (DocumentState(5), DocumentState(5, deleted=True), Action.WAIT),
        (DocumentState(5, deleted=True), DocumentState(5), Action.DELETE),
        (DocumentState(5, deleted=True), DocumentState(4), Action.DELETE),
        (DocumentState(5, deleted=True), DocumentState(6), Action.WAIT),
        (None, DocumentState(3), Action.DELETE_EXTRA),
    ],
)
def test_the_decision_per_document(
    live: DocumentState | None, candidate: DocumentState | None, action: Action
) -> None:
    assert decide(live, candidate) is action


def test_a_state_is_read_from_a_documents_index_hit() -> None:
    assert DocumentState.from_source({"revision": 7}) == DocumentState(7, False)
    assert DocumentState.from_source({"revision": "8", "deleted": True}) == DocumentState(8, True)


# ── inline text from stored chunks ───────────────────────────────────────────────────


def test_overlapping_chunks_give_the_text_once() -> None:
    full = "First sentence. Second sentence. Third sentence."
    spans = [
        TextSpan(16, len(full), full[16:]),  # overlaps the first chunk's end
        TextSpan(0, 32, full[0:32]),
    ]
    assert text_from_chunks(spans) == full


def test_parts_apart_are_joined_by_a_blank_line_and_contained_chunks_are_skipped() -> None:
    spans = [
        TextSpan(0, 5, "Intro"),
        TextSpan(1, 4, "ntr"),
        TextSpan(10, 14, "Body"),
    ]
    assert text_from_chunks(spans) == "Intro\n\nBody"
    assert text_from_chunks([]) == ""


def test_rebuilt_text_is_bounded_to_what_an_event_may_carry() -> None:
    big = "é" * MAX_INLINE_TEXT_BYTES
    text = text_from_chunks([TextSpan(0, len(big), big)])
    assert len(text.encode()) <= MAX_INLINE_TEXT_BYTES
    upsert_event(_cms_manifest(), emitted_at=NOW, salt="s", text=text)  # accepted


def test_only_text_chunks_with_offsets_are_spans() -> None:
    sources: list[dict[str, Any]] = [
        {"modality": "text", "char_start": 0, "char_end": 3, "text": "abc"},
        {"modality": "image", "char_start": 0, "char_end": 3, "text": "alt"},
        {"modality": "text", "text": "no offsets"},
        {"modality": "text", "char_start": 4, "char_end": 4, "text": ""},
    ]
    assert spans_of(sources) == [TextSpan(0, 3, "abc")]


# ── when to publish again ────────────────────────────────────────────────────────────


def test_a_document_is_published_after_the_grace_period_and_at_most_max_attempts() -> None:
    pending = Pending(grace_s=10, max_attempts=2)
    assert not pending.due("d", 100.0)  # first seen out of sync: a change may be on its way
    assert not pending.due("d", 105.0)
    assert pending.due("d", 110.0)
    pending.mark_published("d", 110.0)
    assert not pending.due("d", 115.0)  # the worker gets its grace again
    assert pending.due("d", 120.0)
    pending.mark_published("d", 120.0)
    assert not pending.due("d", 500.0)  # given up
    assert pending.given_up() == ["d"]


def test_a_settled_document_starts_afresh() -> None:
    pending = Pending(grace_s=10, max_attempts=1)
    pending.due("d", 0.0)
    pending.mark_published("d", 10.0)
    pending.settled("d")
    assert pending.given_up() == []
    assert not pending.due("d", 30.0)
    assert pending.due("d", 40.0)


# ── checking a generation's chunks against its group's manifest ─────────────────────


def _manifest(revision: int, *chunk_ids: str, deleted: bool = False) -> Manifest:
    return Manifest(
        doc_id="d",
        revision=revision,
        deleted=deleted,
        chunks=tuple(
            ChunkPosition(chunk_id=c, modality="text", order=n) for n, c in enumerate(chunk_ids)
        ),
    )


def test_extra_chunks_of_this_revision_or_older_are_deleted_newer_ones_kept() -> None:
    manifest = _manifest(5, "a", "b")
    held = {
        "a": {"revision": 5},
        "b": {"revision": 5},
        "old": {"revision": 4},
        "new": {"revision": 6},
    }
    check = check_document(manifest, manifest, held, DocumentState(5))
    assert check == ChunkCheck(delete=("old",))


def test_missing_chunks_reset_the_document() -> None:
    manifest = _manifest(5, "a", "b")
    check = check_document(manifest, manifest, {"a": {"revision": 5}}, DocumentState(5))
    assert check.reset
    assert check.delete == ()


def test_a_document_being_written_is_left_for_later() -> None:
    held = {"x": {"revision": 3}}
    check = check_document(_manifest(5, "a"), _manifest(6, "b"), held, DocumentState(6))
    assert check == ChunkCheck(changing=True)
    assert check_document(None, _manifest(1, "a"), {}, DocumentState(1)).changing


def test_a_deleted_document_keeps_no_chunk_of_its_revision() -> None:
    deleted = _manifest(7, deleted=True)
    held = {"a": {"revision": 5}, "later": {"revision": 8}}
    assert check_document(deleted, deleted, held, DocumentState(7, True)) == ChunkCheck(("a",))


def test_chunks_without_a_manifest_go_once_the_live_group_is_past_them() -> None:
    held = {"a": {"revision": 3}, "b": {"revision": 9}}
    assert check_document(None, None, held, None) == ChunkCheck(("a", "b"))
    assert check_document(None, None, held, DocumentState(5, True)) == ChunkCheck(("a",))
    assert check_document(None, None, held, DocumentState(5)) == ChunkCheck()  # being indexed
