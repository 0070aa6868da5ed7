"""Events of one document on both change topics may be read in any order; the revision
decides, so a live delete is never undone by an older upsert read later from the backfill
topic (and the other way round)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from indexer.events import ChangeEvent, Operation
from indexer.folding import fold_events
from indexer.manifest import Manifest

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _event(op: str, revision: int) -> ChangeEvent:
    return ChangeEvent(
        event_id=f"{op}-{revision}",
        source="fs:docs",
        doc_id="d",
        op=Operation(op),
        uri="file:///srv/docs/a.md",
        new_uri="file:///srv/docs/b.md" if op == "move" else None,
        revision=revision,
        emitted_at=NOW,
    )


BACKFILL_UPSERT = _event("upsert", 10)
LIVE_UPSERT = _event("upsert", 20)
LIVE_DELETE = _event("delete", 30)


def _effective(events: list[ChangeEvent], manifest: Manifest | None) -> list[tuple[str, int]]:
    """The steps that change the index, as (action, revision)."""
    return [
        (step.action, step.event.revision)
        for step in fold_events(events, manifest)
        if step.action not in ("stale", "superseded")
    ]


@pytest.mark.parametrize(
    "order", list(itertools.permutations([BACKFILL_UPSERT, LIVE_UPSERT, LIVE_DELETE]))
)
def test_in_one_batch_any_interleaving_ends_deleted(order: tuple[ChangeEvent, ...]) -> None:
    effective = _effective(list(order), None)
    assert effective[-1] == ("delete", 30)
    assert all(action != "content" or revision == 20 for action, revision in effective)
    assert ("content", 10) not in effective


def test_a_live_delete_read_first_leaves_a_tombstone_the_older_backfill_upsert_cannot_lift() -> (
    None
):
    assert _effective([LIVE_DELETE], None) == [("delete", 30)]
    tombstone = Manifest(doc_id="d", revision=30, deleted=True)
    assert _effective([BACKFILL_UPSERT], tombstone) == []
    assert _effective([BACKFILL_UPSERT, LIVE_UPSERT], tombstone) == []


def test_a_live_edit_read_first_is_not_overwritten_by_the_older_scan_of_the_same_file() -> None:
    indexed_live = Manifest(doc_id="d", revision=20)
    assert _effective([BACKFILL_UPSERT], indexed_live) == []
    assert _effective([LIVE_UPSERT], Manifest(doc_id="d", revision=10)) == [("content", 20)]


def test_an_older_backfill_move_read_after_a_live_upsert_is_stale() -> None:
    older_move = _event("move", 15)
    assert _effective([LIVE_UPSERT, older_move], None) == [("content", 20)]
