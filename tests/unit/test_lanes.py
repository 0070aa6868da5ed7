"""Which topic a change goes to: bulk work on the backfill lane, live changes on the live
lane, and the watcher's passes routed accordingly."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from indexer.dead_letters import DeadLetter
from indexer.events import ChangeEvent
from stream.lanes import Lane, Trigger, change_topics, lane_for, topic_for
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings

SETTINGS = StreamSettings(changes_topic="t.live", backfill_topic="t.bulk")


@pytest.mark.parametrize(
    ("trigger", "lane"),
    [
        (Trigger.LIVE_CHANGE, Lane.LIVE),
        (Trigger.CMS_WEBHOOK, Lane.LIVE),
        (Trigger.INITIAL_SCAN, Lane.BACKFILL),
        (Trigger.RECONCILE, Lane.BACKFILL),
        (Trigger.RESEND, Lane.BACKFILL),
        (Trigger.DEAD_LETTER_REPLAY, Lane.BACKFILL),
        (Trigger.REINDEX, Lane.BACKFILL),
    ],
)
def test_bulk_work_goes_to_backfill_and_what_a_person_waits_on_goes_live(
    trigger: Trigger, lane: Lane
) -> None:
    assert lane_for(trigger) is lane


def test_each_lane_has_its_configured_topic_live_first() -> None:
    assert topic_for(Lane.LIVE, SETTINGS) == "t.live"
    assert topic_for(Lane.BACKFILL, SETTINGS) == "t.bulk"
    assert change_topics(SETTINGS) == ("t.live", "t.bulk")


async def test_the_producer_sends_each_lane_to_its_topic() -> None:
    producer = ChangeProducer.from_settings(SETTINGS)
    assert producer.topic_for(Lane.LIVE) == "t.live"
    assert producer.topic_for(Lane.BACKFILL) == "t.bulk"
    single = ChangeProducer("127.0.0.1:1", "only", "only.dlq")
    assert single.topic_for(Lane.BACKFILL) == single.topic_for(Lane.LIVE) == "only"


class RecordingSink:
    def __init__(self) -> None:
        self.sent: list[tuple[Lane, list[ChangeEvent]]] = []

    async def send_many(self, events: Iterable[ChangeEvent], *, lane: Lane) -> None:
        self.sent.append((lane, list(events)))

    async def send_dead_letter(self, letter: DeadLetter) -> None:
        raise AssertionError(f"unexpected dead letter {letter}")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("# A")
    (root / "b.md").write_text("# B")
    return root


def _watcher(tree: Path, sink: RecordingSink, tmp_path: Path) -> DirectoryWatcher:
    return DirectoryWatcher(tree, sink, WatchSettings(state_dir=tmp_path / "state"), "docs")


async def test_scans_reconciliations_and_resends_go_to_the_backfill_lane(
    tree: Path, tmp_path: Path
) -> None:
    sink = RecordingSink()
    watcher = _watcher(tree, sink, tmp_path)
    try:
        await watcher.reconcile()
        (tree / "c.md").write_text("# C")
        await watcher.reconcile(trigger=Trigger.RECONCILE)
        await watcher.reconcile(resend=True)
    finally:
        watcher.close()
    assert [(lane, len(events)) for lane, events in sink.sent] == [
        (Lane.BACKFILL, 2),
        (Lane.BACKFILL, 1),
        (Lane.BACKFILL, 3),
    ]
    assert watcher.sent == {Lane.LIVE: 0, Lane.BACKFILL: 6}
