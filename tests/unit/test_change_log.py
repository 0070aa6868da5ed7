"""The change log's shared names and the pure lag arithmetic (indexer.change_log)."""

from __future__ import annotations

import pytest

from indexer.change_log import (
    ChangeLogSettings,
    PartitionOffsets,
    topic_lag,
    total_lag,
)
from indexer.change_log.lag import combine
from stream.settings import StreamSettings
from stream.worker.settings import WorkerSettings

NAMES = ("MMRAG_KAFKA_BOOTSTRAP", "MMRAG_CHANGES_TOPIC", "MMRAG_BACKFILL_TOPIC")


def test_a_partition_resumes_at_its_commit_or_else_at_the_log_beginning() -> None:
    assert PartitionOffsets(committed=4, beginning=0, end=10).position == 4
    assert PartitionOffsets(committed=None, beginning=2, end=7).position == 2
    assert PartitionOffsets(committed=0, beginning=2, end=7).position == 0


def test_lag_is_the_high_watermark_minus_the_position_never_negative() -> None:
    assert PartitionOffsets(committed=4, beginning=0, end=10).lag == 6
    assert PartitionOffsets(committed=None, beginning=2, end=7).lag == 5
    assert PartitionOffsets(committed=9, beginning=0, end=3).lag == 0
    assert PartitionOffsets(committed=None, beginning=5, end=5).lag == 0


def test_lag_sums_over_partitions_and_topics() -> None:
    live = combine({0: 10, 1: 5, 2: 7}, {0: 4, 1: 5}, {2: 2})
    backfill = combine({0: 100}, {0: None}, {0: 40})
    assert topic_lag(live) == 6 + 0 + 5
    assert topic_lag(backfill) == 60
    assert total_lag({"live": live, "backfill": backfill}) == 71
    assert total_lag({"live": live, "missing": {}}) == 11
    assert total_lag({}) == 0


def test_combine_keeps_every_partition_with_a_high_watermark_in_order() -> None:
    combined = combine({2: 7, 0: 3}, {0: 1, 5: 9}, {2: 2})
    assert list(combined) == [0, 2]
    assert combined[0] == PartitionOffsets(committed=1, beginning=0, end=3)
    assert combined[2] == PartitionOffsets(committed=None, beginning=2, end=7)


def test_defaults_live_once_and_both_sides_read_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*NAMES, "MMRAG_WORKER_APP_ID", "MMRAG_DEAD_LETTER_TOPIC"):
        monkeypatch.delenv(name, raising=False)
    names = ChangeLogSettings()
    assert names.kafka_bootstrap == "127.0.0.1:19092"
    assert names.change_topics == ("mmrag.changes", "mmrag.changes.backfill")
    assert names.dead_letter_topic == "mmrag.changes.dlq"
    assert names.worker_app_id == WorkerSettings().app_id == "mmrag-indexer"
    stream = StreamSettings()
    assert isinstance(stream, ChangeLogSettings)
    assert stream.change_topics == names.change_topics


def test_the_names_come_from_the_same_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRAG_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("MMRAG_CHANGES_TOPIC", "live")
    monkeypatch.setenv("MMRAG_BACKFILL_TOPIC", "bulk")
    monkeypatch.setenv("MMRAG_WORKER_APP_ID", "indexer-2")
    names = ChangeLogSettings()
    assert (names.kafka_bootstrap, names.change_topics, names.worker_app_id) == (
        "kafka:9092",
        ("live", "bulk"),
        "indexer-2",
    )
    assert WorkerSettings().app_id == "indexer-2"
