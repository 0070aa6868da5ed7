"""Folding events whose revisions tie: a delete wins over an upsert of the same revision."""

from __future__ import annotations

from datetime import UTC, datetime

from indexer.events import ChangeEvent, Operation
from indexer.folding import fold_events
from indexer.manifest import Manifest

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _event(op: str, revision: int) -> ChangeEvent:
    return ChangeEvent(
        event_id=f"{op}-{revision}",
        source="cms:blog",
        doc_id="d",
        op=Operation(op),
        uri="https://blog.test/p/1",
        revision=revision,
        content_type="text/plain" if op == "upsert" else None,
        text="body" if op == "upsert" else None,
        emitted_at=NOW,
    )


def _actions(events: list[ChangeEvent], manifest: Manifest | None) -> list[str]:
    return [step.action for step in fold_events(events, manifest)]


def test_a_delete_with_the_indexed_revision_deletes() -> None:
    indexed = Manifest(doc_id="d", revision=7)
    assert _actions([_event("delete", 7)], indexed) == ["delete"]


def test_an_upsert_with_the_revision_of_a_delete_stays_stale() -> None:
    deleted = Manifest(doc_id="d", revision=7, deleted=True)
    assert _actions([_event("upsert", 7)], deleted) == ["stale"]
    assert _actions([_event("delete", 7)], deleted) == ["stale"]


def test_within_a_batch_a_tied_delete_supersedes_the_upsert() -> None:
    assert _actions([_event("upsert", 7), _event("delete", 7)], None) == ["superseded", "delete"]
    assert _actions([_event("delete", 7), _event("upsert", 7)], None) == ["delete", "stale"]


def test_the_same_revision_redelivered_is_still_stale() -> None:
    indexed = Manifest(doc_id="d", revision=7)
    assert _actions([_event("upsert", 7), _event("upsert", 6)], indexed) == ["stale", "stale"]
