from __future__ import annotations

from stream.worker.stall import StallDetector, TailWatch


def test_a_partition_with_waiting_records_and_no_progress_is_stalled() -> None:
    detector = StallDetector(timeout_s=60)
    assert not detector.stalled(0, position=10, lag=5, now=0)
    assert not detector.stalled(0, position=10, lag=5, now=59)
    assert detector.stalled(0, position=10, lag=5, now=60)


def test_progress_or_an_empty_partition_is_not_a_stall() -> None:
    detector = StallDetector(timeout_s=60)
    assert not detector.stalled(0, position=10, lag=5, now=0)
    assert not detector.stalled(0, position=11, lag=4, now=100)  # moved
    assert not detector.stalled(0, position=11, lag=4, now=150)
    assert not detector.stalled(1, position=7, lag=0, now=0)
    assert not detector.stalled(1, position=7, lag=0, now=1000)  # nothing waiting


def test_revoked_partitions_are_forgotten_and_zero_disables() -> None:
    detector = StallDetector(timeout_s=60)
    detector.stalled(0, position=1, lag=1, now=0)
    detector.forget_all_but(set())
    assert not detector.stalled(0, position=1, lag=1, now=100)  # a fresh start
    assert not StallDetector(timeout_s=0).stalled(0, position=1, lag=1, now=1e9)


def test_records_fetched_but_not_handed_over_for_two_looks_are_a_stuck_tail() -> None:
    tails = TailWatch()
    assert not tails.unmoved(0, progress=22, highwater=23, fetched=23)  # first look
    assert tails.unmoved(0, progress=22, highwater=23, fetched=23)  # unchanged since


def test_a_tail_is_not_stuck_when_anything_moves_or_was_processed() -> None:
    tails = TailWatch()
    tails.unmoved(0, progress=22, highwater=23, fetched=23)
    assert not tails.unmoved(0, progress=22, highwater=24, fetched=24)  # more arrived
    tails.forget()  # a batch went through in between
    assert not tails.unmoved(0, progress=22, highwater=24, fetched=24)
    assert tails.unmoved(0, progress=22, highwater=24, fetched=24)


def test_a_tail_not_yet_fetched_or_fully_processed_is_not_stuck() -> None:
    tails = TailWatch()
    for _ in range(3):
        assert not tails.unmoved(0, progress=22, highwater=30, fetched=25)  # still fetching
        assert not tails.unmoved(1, progress=30, highwater=30, fetched=30)  # all processed
        assert not tails.unmoved(2, progress=3, highwater=9, fetched=None)  # no position
