"""Progress a user sees: rates and ETAs from samples, readings per lane and per source,
and when a wait is over."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.change_log import PartitionOffsets
from indexer.events import Operation
from mmrag.progress.goal import Goal
from mmrag.progress.rates import RateEstimator, eta_seconds, format_duration
from mmrag.progress.report import ProgressTracker
from mmrag.progress.snapshot import (
    LaneReading,
    Snapshot,
    SourceReading,
    lane_readings,
    pending_of_sent,
    processed_since,
    source_readings,
)
from stream.lanes import Lane
from stream.watcher.planning import ObservedFile, PlannedChange
from stream.watcher.state import WatchState, sent_documents, state_file_for

TOPICS = {Lane.LIVE: "live", Lane.BACKFILL: "bulk"}


def test_a_rate_needs_two_samples_at_different_times() -> None:
    estimator = RateEstimator(window_s=10)
    assert estimator.rate() is None
    estimator.add(5.0, 100)
    assert estimator.rate() is None
    estimator.add(5.0, 120)
    assert estimator.rate() is None
    estimator.add(7.0, 140)
    assert estimator.rate() == pytest.approx(20.0)  # (140 - 100) / 2 s


def test_the_rate_follows_the_recent_window_not_the_whole_history() -> None:
    estimator = RateEstimator(window_s=10)
    for second in range(0, 31):  # 1/s for 20 s, then 10/s
        estimator.add(float(second), second if second <= 20 else 20 + 10 * (second - 20))
    assert estimator.rate() == pytest.approx(10.0)


def test_a_count_going_down_is_no_progress_and_time_never_goes_back() -> None:
    estimator = RateEstimator()
    estimator.add(0.0, 50)
    estimator.add(1.0, 40)
    assert estimator.rate() == 0.0
    with pytest.raises(ValueError, match="forward in time"):
        estimator.add(0.5, 60)
    with pytest.raises(ValueError, match="positive"):
        RateEstimator(window_s=0)


def test_eta_is_remaining_over_rate_zero_when_done_unknown_without_progress() -> None:
    assert eta_seconds(100, 4.0) == 25.0
    assert eta_seconds(0, None) == 0.0
    assert eta_seconds(-3, 1.0) == 0.0
    assert eta_seconds(10, None) is None
    assert eta_seconds(10, 0.0) is None


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "?"), (0.4, "0s"), (59.4, "59s"), (185, "3m05s"), (7620, "2h07m")],
)
def test_durations_read_at_a_glance(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown


def _offsets(committed: int | None, end: int, beginning: int = 0) -> PartitionOffsets:
    return PartitionOffsets(committed=committed, beginning=beginning, end=end)


def test_lanes_read_pending_and_processed_from_the_group_offsets() -> None:
    offsets = {
        "live": {0: _offsets(5, 5), 1: _offsets(None, 3, beginning=1)},
        "bulk": {0: _offsets(10, 110, beginning=4), 1: _offsets(7, 9)},
    }
    live, bulk = lane_readings(offsets, TOPICS)
    assert (live.lane, live.pending, live.processed, live.partitions) == (Lane.LIVE, 2, 5, 2)
    assert (bulk.lane, bulk.pending, bulk.processed) == (Lane.BACKFILL, 102, 13)
    [missing] = lane_readings({}, {Lane.LIVE: "absent"})
    assert (missing.pending, missing.processed, missing.partitions) == (0, 0, 0)


def test_what_one_producer_sent_is_pending_until_the_group_passes_its_last_record() -> None:
    offsets = {"bulk": {0: _offsets(40, 60), 1: _offsets(None, 8, beginning=2)}}
    sent = {("bulk", 0): 50, ("bulk", 1): 8, ("live", 3): 1}
    # partition 0: 50 - 40; partition 1: 8 - 2 (never committed); live 3 unknown: 1 - 0
    assert pending_of_sent(sent, offsets) == 10 + 6 + 1
    assert pending_of_sent({("bulk", 0): 30}, offsets) == 0


AGGREGATION = {
    "aggregations": {
        "sources": {
            "buckets": [
                {"key": "cms:blog", "doc_count": 3, "chunks": {"value": 12.0}},
                {"key": "fs:html", "doc_count": 40, "chunks": {"value": 900.0}},
            ]
        }
    }
}


def test_sources_join_what_is_searchable_with_what_the_watcher_sent() -> None:
    readings = source_readings(AGGREGATION, {"fs:html": 100, "fs:notes": 2})
    assert readings == (
        SourceReading("cms:blog", 3, 12, None),
        SourceReading("fs:html", 40, 900, 100),
        SourceReading("fs:notes", 0, 0, 2),
    )
    assert source_readings({}, {}) == ()


def _snapshot(
    at: float,
    processed: int,
    pending: int,
    searchable: int,
    chunks: int,
    errors: tuple[str, ...] = (),
) -> Snapshot:
    return Snapshot(
        at=at,
        lanes=(
            LaneReading(Lane.LIVE, "live", 0, 7, 1),
            LaneReading(Lane.BACKFILL, "bulk", pending, processed, 1),
        ),
        sources=(SourceReading("fs:html", searchable, chunks, 100),),
        chunks_searchable=chunks,
        offsets={"bulk": {0: _offsets(processed, processed + pending)}},
        errors=errors,
    )


def test_two_readings_give_rates_and_etas_per_lane_per_source_and_overall() -> None:
    tracker = ProgressTracker()
    first = tracker.observe(_snapshot(0.0, processed=20, pending=80, searchable=20, chunks=400))
    assert first.chunks_per_s is None
    assert first.eta_s is None
    assert not first.caught_up
    second = tracker.observe(_snapshot(10.0, processed=40, pending=60, searchable=40, chunks=900))
    live, bulk = second.lanes
    assert (live.pending, live.events_per_s, live.eta_s) == (0, 0.0, 0.0)
    assert (bulk.events_per_s, bulk.eta_s) == (2.0, 30.0)
    [source] = second.sources
    assert source.chunks_per_s == 50.0
    assert source.eta_s == 30.0  # 60 documents left at 2 documents/s
    assert (second.chunks_searchable, second.chunks_per_s) == (900, 50.0)
    assert (second.pending, second.events_per_s, second.eta_s) == (60, 2.0, 30.0)
    body = second.to_json()
    assert body["lanes"][1]["lane"] == "backfill"
    assert body["caught_up"] is False


def test_a_reading_with_an_error_is_never_caught_up() -> None:
    report = ProgressTracker().observe(
        _snapshot(0.0, 10, 0, 10, 10, errors=("kafka: no answer in time",))
    )
    assert report.pending == 0
    assert not report.caught_up


def test_the_whole_backlog_goal_counts_events_processed_since_the_first_reading() -> None:
    first = _snapshot(0.0, processed=20, pending=80, searchable=0, chunks=0)
    later = _snapshot(5.0, processed=70, pending=30, searchable=0, chunks=0)
    done = _snapshot(9.0, processed=100, pending=0, searchable=0, chunks=0)
    goal = Goal()
    assert processed_since(first, later) == 50
    assert goal.counts(first, first) == (0, 80)
    assert goal.counts(first, later) == (50, 80)
    assert not goal.reached(later)
    assert goal.reached(done)
    assert not goal.reached(_snapshot(9.0, 100, 0, 0, 0, errors=("kafka: down",)))


def test_a_run_goal_counts_only_what_the_run_sent() -> None:
    goal = Goal(sent_ends={("bulk", 0): 60}, sent_events=25)
    first = _snapshot(0.0, processed=20, pending=40, searchable=0, chunks=0)
    assert goal.counts(first, first) == (0, 25)  # 40 before it, capped at what it sent
    assert goal.counts(first, _snapshot(3.0, 50, 10, 0, 0)) == (15, 25)
    assert goal.reached(_snapshot(6.0, 60, 5, 0, 0))  # later records are not its own


def test_sent_documents_are_counted_per_source_from_the_watchers_state(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    root = tmp_path / "docs"
    root.mkdir()
    state = WatchState(state_file_for(state_dir, "fs:docs"), root)
    seen = ObservedFile("a.md", 1, 1, "aa")
    state.record(
        [
            PlannedChange(Operation.UPSERT, "fs:docs:1", "a.md", 1, observed=seen),
            PlannedChange(Operation.UPSERT, "fs:docs:2", "b.md", 1, observed=seen),
            PlannedChange(Operation.UPSERT, "fs:docs:3", "c.md", 1, observed=seen),
            PlannedChange(Operation.DELETE, "fs:docs:3", "c.md", 2),
        ],
        [],
    )
    state.close()
    (state_dir / "junk.sqlite").write_text("not a database")
    assert sent_documents(state_dir) == {"fs:docs": 2}
    assert sent_documents(tmp_path / "absent") == {}


def test_the_screen_shows_sources_lanes_and_what_is_unknown() -> None:
    from rich.console import Console

    from mmrag.progress.view import lanes_line, status_table

    tracker = ProgressTracker()
    snapshot = Snapshot(
        at=0.0,
        lanes=(
            LaneReading(Lane.LIVE, "live", 0, 7, 1),
            LaneReading(Lane.BACKFILL, "bulk", 1200, 10, 1),
        ),
        sources=(
            SourceReading("cms:blog", 3, 12, None),
            SourceReading("fs:html", 40, 900, 100),
        ),
        chunks_searchable=912,
        errors=("elasticsearch: no answer in time",),
    )
    report = tracker.observe(snapshot)
    console = Console(record=True, width=120)
    console.print(status_table(report))
    console.print(lanes_line(report))
    text = console.export_text()
    blog = next(line for line in text.splitlines() if "cms:blog" in line)
    assert blog.split("│")[2].strip() == "-"  # not sent from this machine
    assert "1,200 pending, ? events/s, ETA ?" in text
    assert "live: 0 pending ·" in text
    assert "chunks searchable: 912 (?/s)" in text
    assert "elasticsearch: no answer in time" in text
