"""The offset ledger: which offsets of the changes topic a batch skipped."""

from __future__ import annotations

import pytest

from stream.worker.offsets import OffsetLedger, OffsetRange, merge_in_offset_order
from stream.worker.records import RawRecord


def record(partition: int, offset: int, value: bytes = b"e") -> RawRecord:
    return RawRecord(key=b"k", value=value, topic="changes", partition=partition, offset=offset)


def batch(*pairs: tuple[int, int]) -> list[RawRecord]:
    return [record(partition, offset) for partition, offset in pairs]


def test_the_record_at_the_committed_offset_missing_from_the_first_batch_is_a_gap() -> None:
    ledger = OffsetLedger()
    ledger.start(0, committed=22)
    assert ledger.missing(batch((0, 23), (0, 24))) == [OffsetRange(0, 22, 23)]


def test_a_batch_that_starts_where_expected_and_is_contiguous_has_no_gap() -> None:
    ledger = OffsetLedger()
    ledger.start(0, committed=22)
    assert ledger.missing(batch((0, 22), (0, 23), (0, 24))) == []
    ledger.advance(batch((0, 22), (0, 23), (0, 24)))
    assert ledger.progress(0, None) == 25
    assert ledger.missing(batch((0, 25))) == []


def test_holes_inside_a_batch_and_across_partitions_are_each_reported() -> None:
    ledger = OffsetLedger()
    ledger.start(0, committed=0)
    ledger.start(1, committed=10)
    records = batch((1, 12), (0, 0), (0, 3), (1, 13), (0, 4), (1, 17))
    assert ledger.missing(records) == [
        OffsetRange(0, 1, 3),
        OffsetRange(1, 10, 12),
        OffsetRange(1, 14, 17),
    ]


def test_records_out_of_order_within_a_batch_are_not_holes() -> None:
    ledger = OffsetLedger()
    ledger.start(0, committed=5)
    assert ledger.missing(batch((0, 7), (0, 5), (0, 6))) == []


def test_redelivered_records_below_the_next_offset_are_no_gap_and_do_not_go_back() -> None:
    ledger = OffsetLedger()
    ledger.start(0, committed=5)
    ledger.advance(batch((0, 5), (0, 6), (0, 7)))
    replay = batch((0, 3), (0, 4), (0, 5), (0, 8), (1, 0))
    assert ledger.missing(replay) == []
    assert ledger.replayed(replay) == replay[:3]
    ledger.advance(replay)
    assert ledger.progress(0, None) == 9


def test_partitions_not_started_are_unknown_and_never_reported() -> None:
    ledger = OffsetLedger()
    records = batch((2, 40), (2, 41))
    assert ledger.unknown_partitions(records) == {2}
    assert ledger.missing(records) == []
    ledger.advance(records)  # a partition with no committed offset starts at its batch
    assert not ledger.unknown_partitions(records)
    assert ledger.missing(batch((2, 44))) == [OffsetRange(2, 42, 44)]


def test_forgotten_partitions_start_again_from_the_group() -> None:
    ledger = OffsetLedger()
    ledger.start(0, committed=3)
    ledger.start(1, committed=9)
    ledger.forget({0})
    assert ledger.progress(0, None) is None
    assert ledger.progress(1, None) is not None
    ledger.start(0, committed=30)
    assert ledger.missing(batch((0, 30))) == []


def test_progress_is_the_furthest_of_committed_and_processed() -> None:
    ledger = OffsetLedger()
    assert ledger.progress(0, committed=None) is None
    assert ledger.progress(0, committed=4) == 4
    ledger.start(0, committed=4)
    ledger.advance_to(0, 9)  # read back past what Faust could acknowledge
    assert ledger.progress(0, committed=4) == 9
    assert ledger.progress(0, committed=12) == 12  # another member went further
    assert ledger.progress(0, committed=None) == 9
    ledger.advance_to(0, 2)
    assert ledger.progress(0, None) == 9  # never backwards


def test_an_empty_range_is_refused() -> None:
    with pytest.raises(ValueError, match="empty offset range"):
        OffsetRange(0, 5, 5)
    assert OffsetRange(0, 5, 8).size == 3


def test_read_back_records_go_before_the_batch_in_offset_order_each_once() -> None:
    records = [record(1, 8), record(0, 5, b"new"), record(1, 9)]
    recovered = [record(0, 4), record(1, 7), record(0, 5, b"old")]
    merged = merge_in_offset_order(records, recovered)
    assert [(r.partition, r.offset) for r in merged] == [(0, 4), (0, 5), (1, 7), (1, 8), (1, 9)]
    assert merged[1].value == b"new"  # the batch's own copy wins
