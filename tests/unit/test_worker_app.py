"""Which lanes the worker app declares (pure; the app itself runs in integration tests)."""

from __future__ import annotations

from stream.lanes import Lane
from stream.settings import StreamSettings
from stream.worker.app import lane_topics


def test_each_lane_reads_its_own_topic() -> None:
    settings = StreamSettings(changes_topic="live.t", backfill_topic="bulk.t")
    assert lane_topics(settings) == {Lane.LIVE: "live.t", Lane.BACKFILL: "bulk.t"}


def test_one_topic_for_both_lanes_is_read_once() -> None:
    settings = StreamSettings(changes_topic="only.t", backfill_topic="only.t")
    assert lane_topics(settings) == {Lane.LIVE: "only.t"}
