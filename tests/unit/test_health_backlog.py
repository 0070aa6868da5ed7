"""``/health``'s backlog: what the worker has still to do, per lane."""

from __future__ import annotations

from indexer.change_log import PartitionOffsets
from query_api.health import lane_backlog


def _at(committed: int | None, end: int) -> PartitionOffsets:
    return PartitionOffsets(committed=committed, beginning=0, end=end)


def test_the_backlog_is_split_into_live_and_backfill() -> None:
    offsets = {
        "live": {0: _at(4, 5), 1: _at(None, 2)},
        "bulk": {0: _at(10, 900), 1: _at(3, 3)},
    }
    assert lane_backlog(offsets, "live", "bulk") == {"live": 3, "backfill": 890}


def test_a_missing_backfill_topic_has_nothing_pending() -> None:
    assert lane_backlog({"live": {0: _at(1, 2)}, "bulk": {}}, "live", "bulk") == {
        "live": 1,
        "backfill": 0,
    }


def test_no_answer_or_no_topics_is_unknown() -> None:
    assert lane_backlog(None, "live", "bulk") is None
    assert lane_backlog({"live": {}, "bulk": {}}, "live", "bulk") is None
