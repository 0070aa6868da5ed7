"""The watcher's pure parts: filters, debouncing, planning and event building."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from indexer.events import Operation
from stream.watcher.debounce import Debouncer
from stream.watcher.events import change_to_event, content_type_of
from stream.watcher.filters import PathFilter
from stream.watcher.planning import KnownFile, ObservedFile, PlannedChange, plan_changes
from stream.watcher.settings import WatchSettings

FILTER = PathFilter.from_settings(WatchSettings())
SHA = "ab" * 32


@pytest.mark.parametrize(
    "path",
    ["a.md", "notes/b.TXT", "deep/er/c.pdf", "img/photo.JPG", "x.webp", "page.html", "scan.tiff"],
)
def test_default_filter_takes_documents_and_images(path: str) -> None:
    assert FILTER.wants_file(path)


@pytest.mark.parametrize(
    "path",
    [
        "a.md~",
        ".a.md.swp",
        "notes/.hidden.md",
        ".git/config.md",
        "build/x.tmp",
        "~$report.md",
        "#draft.md#",
        ".#lock.md",
        "4913",
        "binary.exe",
        "archive.zip",
        "video.part",
    ],
)
def test_default_filter_skips_hidden_temp_swap_and_unknown(path: str) -> None:
    assert not FILTER.wants_file(path)


def test_filter_patterns_with_slash_match_relative_paths() -> None:
    path_filter = PathFilter(include=("docs/*.md",), exclude=("docs/drafts/*",))
    assert path_filter.wants_file("docs/a.md")
    assert not path_filter.wants_file("other/a.md")
    assert not path_filter.wants_file("docs/drafts/b.md")
    assert PathFilter(("*.md",), (), include_hidden=True).wants_file(".notes/a.md")


def test_debouncer_coalesces_a_burst_into_one_key_due_at_first_event_plus_quiet() -> None:
    debouncer: Debouncer[str] = Debouncer(0.2)
    debouncer.touch("a", now=10.0)
    debouncer.touch("a", now=10.05)
    debouncer.touch("a", now=10.15)
    assert debouncer.due(10.19) == []
    assert debouncer.next_deadline() == pytest.approx(10.2)
    assert debouncer.due(10.2) == ["a"]
    assert debouncer.due(11.0) == []
    assert len(debouncer) == 0


def test_debouncer_keeps_keys_apart_and_returns_them_in_deadline_order() -> None:
    debouncer: Debouncer[str] = Debouncer(0.2)
    debouncer.touch("b", now=1.0)
    debouncer.touch("a", now=1.1)
    debouncer.touch("c", now=1.5)
    assert debouncer.due(1.35) == ["b", "a"]
    debouncer.touch("a", now=1.4)  # a new burst after the first was flushed
    assert debouncer.due(2.0) == ["a", "c"]


def test_debouncer_retry_delay_overrides_quiet_period() -> None:
    debouncer: Debouncer[str] = Debouncer(0.2)
    debouncer.touch("a", now=0.0, delay_s=2.0)
    assert debouncer.due(1.0) == []
    assert debouncer.due(2.0) == ["a"]


def _derive(path: str) -> str:
    return f"id:{path}"


def _known(path: str, sha: str = "s1", revision: int = 100, **kw: object) -> KnownFile:
    return KnownFile(path, _derive(path), revision, 10, 100, sha, **kw)  # type: ignore[arg-type]


def _seen(path: str, sha: str = "s1", size: int = 10, mtime: int = 100) -> ObservedFile:
    return ObservedFile(path, size, mtime, sha)


def test_new_file_becomes_an_upsert_of_a_new_document() -> None:
    plan = plan_changes({}, {"a.md": _seen("a.md", mtime=500)}, _derive)
    assert plan.changes == [
        PlannedChange(Operation.UPSERT, "id:a.md", "a.md", 500, observed=_seen("a.md", mtime=500))
    ]


def test_unchanged_file_plans_nothing() -> None:
    plan = plan_changes({"a.md": _known("a.md")}, {"a.md": _seen("a.md")}, _derive)
    assert plan.changes == []
    assert plan.content_unchanged == []


def test_touched_file_with_same_bytes_updates_state_only() -> None:
    plan = plan_changes({"a.md": _known("a.md")}, {"a.md": _seen("a.md", mtime=900)}, _derive)
    assert plan.changes == []
    assert plan.content_unchanged == [_seen("a.md", mtime=900)]


def test_modified_file_keeps_its_document_and_raises_the_revision() -> None:
    known = {"a.md": _known("a.md", revision=1000)}
    newer = plan_changes(known, {"a.md": _seen("a.md", "s2", mtime=2000)}, _derive)
    assert [(c.op, c.doc_id, c.revision) for c in newer.changes] == [
        (Operation.UPSERT, "id:a.md", 2000)
    ]
    # Replaced by an older copy: the revision must still grow.
    older = plan_changes(known, {"a.md": _seen("a.md", "s2", mtime=50)}, _derive)
    assert older.changes[0].revision == 1001


def test_vanished_file_becomes_a_delete() -> None:
    plan = plan_changes({"a.md": _known("a.md", revision=7)}, {"a.md": None}, _derive)
    assert [(c.op, c.doc_id, c.revision) for c in plan.changes] == [
        (Operation.DELETE, "id:a.md", 8)
    ]


def test_same_content_at_a_new_path_is_a_move_that_keeps_the_document() -> None:
    plan = plan_changes(
        {"a.md": _known("a.md", "same", revision=7)},
        {"a.md": None, "b.md": _seen("b.md", "same")},
        _derive,
    )
    assert len(plan.changes) == 1
    move = plan.changes[0]
    assert (move.op, move.doc_id, move.path, move.new_path, move.revision) == (
        Operation.MOVE,
        "id:a.md",
        "a.md",
        "b.md",
        8,
    )


def test_ambiguous_moves_fall_back_to_delete_and_upsert() -> None:
    plan = plan_changes(
        {"a.md": _known("a.md", "same"), "b.md": _known("b.md", "same")},
        {"a.md": None, "b.md": None, "c.md": _seen("c.md", "same")},
        _derive,
    )
    assert sorted(c.op.value for c in plan.changes) == ["delete", "delete", "upsert"]


def test_recreated_file_reuses_its_document_with_a_higher_revision() -> None:
    tombstone = _known("a.md", revision=5000, deleted=True)
    plan = plan_changes({"a.md": tombstone}, {"a.md": _seen("a.md", "s9", mtime=10)}, _derive)
    assert [(c.op, c.doc_id, c.revision) for c in plan.changes] == [
        (Operation.UPSERT, "id:a.md", 5001)
    ]


def test_new_file_at_a_moved_away_path_does_not_steal_the_moved_document() -> None:
    # a.md was moved to b.md earlier: b.md holds id:a.md, a.md is a tombstone of it.
    known = {
        "a.md": KnownFile("a.md", "id:a.md", 9, 10, 100, "s1", deleted=True),
        "b.md": KnownFile("b.md", "id:a.md", 9, 10, 100, "s1"),
    }
    plan = plan_changes(known, {"a.md": _seen("a.md", "s2")}, _derive)
    assert len(plan.changes) == 1
    assert plan.changes[0].doc_id == "id:a.md#2"


def test_events_carry_uri_type_hash_and_revision(tmp_path: Path) -> None:
    emitted = datetime(2026, 11, 25, tzinfo=UTC)
    change = PlannedChange(
        Operation.MOVE, "d1", "old/a.md", 8, new_path="new/a.md", observed=_seen("new/a.md", SHA)
    )
    event = change_to_event(change, source="fs:docs", root=tmp_path, emitted_at=emitted)
    assert event.op is Operation.MOVE
    assert event.uri == (tmp_path / "old/a.md").as_uri()
    assert event.new_uri == (tmp_path / "new/a.md").as_uri()
    assert event.content_type == "text/markdown"
    assert event.content_sha256 == SHA
    assert event.revision == 8
    assert event.metadata.extra["path"] == "new/a.md"
    assert event.metadata.title is None  # the indexer takes the document's own title
    delete = change_to_event(
        PlannedChange(Operation.DELETE, "d1", "a.md", 9),
        source="fs:docs",
        root=tmp_path,
        emitted_at=emitted,
    )
    assert delete.content_sha256 is None
    assert delete.metadata.size_bytes is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.md", "text/markdown"),
        ("a.pdf", "application/pdf"),
        ("a.JPG", "image/jpeg"),
        ("a.webp", "image/webp"),
        ("a.tif", "image/tiff"),
        ("a.html", "text/html"),
        ("a.txt", "text/plain"),
    ],
)
def test_content_types(path: str, expected: str) -> None:
    assert content_type_of(path) == expected


def test_resend_sends_unchanged_files_again_with_a_higher_revision() -> None:
    known = {"a.md": _known("a.md", revision=100)}
    plan = plan_changes(known, {"a.md": _seen("a.md")}, _derive, resend=True)
    assert [(c.op, c.doc_id, c.revision) for c in plan.changes] == [
        (Operation.UPSERT, "id:a.md", 101)
    ]
