from __future__ import annotations

from stream.worker.stall import StallDetector


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
