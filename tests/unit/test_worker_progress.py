"""ProgressMonitor decides over a fake consumer port and a hand-moved clock (no Kafka)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from stream.worker.partition_reader import ReadBackError
from stream.worker.progress import ProgressMonitor, Stall


@dataclass
class FakePort:
    highwaters: dict[int, int | None]
    committed_offsets: dict[int, int | None] = field(default_factory=dict)
    positions: dict[int, int | None] = field(default_factory=dict)
    processed: dict[int, int] = field(default_factory=dict)
    busy: bool = False
    settled: bool = True
    broker_away: bool = False
    read_backs: list[tuple[int, int | None, int]] = field(default_factory=list)
    read_back_fails: bool = False

    def assigned(self) -> set[int]:
        return set(self.highwaters)

    def highwater(self, partition: int) -> int | None:
        return self.highwaters.get(partition)

    async def position(self, partition: int) -> int | None:
        return self.positions.get(partition)

    async def committed(self, partitions: Iterable[int]) -> dict[int, int | None]:
        if self.broker_away:
            raise ReadBackError("broker away")
        return {partition: self.committed_offsets.get(partition) for partition in partitions}

    def progress(self, partition: int, committed: int | None) -> int | None:
        known = self.processed.get(partition)
        if known is None or committed is None:
            return known if committed is None else committed
        return max(known, committed)

    async def read_back_tail(self, partition: int, committed: int | None, end: int) -> int:
        self.read_backs.append((partition, committed, end))
        if self.read_back_fails:
            raise ReadBackError("cannot read")
        self.processed[partition] = end
        return end - (committed or 0)


@dataclass
class Recorder:
    now: float = 0.0
    lags: list[tuple[int, int | None]] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def monitor(self, port: FakePort, timeout_s: float = 60.0) -> ProgressMonitor:
        return ProgressMonitor(
            "changes",
            port,
            stall_timeout_s=timeout_s,
            clock=self.clock,
            on_stall=self.stalls.append,
            on_lag=lambda partition, lag: self.lags.append((partition, lag)),
        )


async def test_lag_is_the_highwater_less_how_far_processing_stands() -> None:
    port = FakePort(highwaters={0: 10, 1: 7, 2: None}, committed_offsets={0: 4, 1: 9})
    port.processed[0] = 6  # read back past the committed offset
    recorder = Recorder()
    await recorder.monitor(port).check()
    assert recorder.lags == [(0, 4), (1, 0)]  # never negative; no highwater, no report


async def test_a_partition_no_longer_assigned_reports_no_lag_once() -> None:
    port = FakePort(highwaters={0: 5, 1: 5}, committed_offsets={0: 5, 1: 5})
    recorder = Recorder()
    monitor = recorder.monitor(port)
    await monitor.check()
    del port.highwaters[1]
    recorder.lags.clear()
    await monitor.check()
    await monitor.check()
    assert recorder.lags == [(1, None), (0, 0), (0, 0)]


async def test_a_partition_unmoved_with_records_waiting_stalls_after_the_timeout() -> None:
    port = FakePort(highwaters={0: 10}, committed_offsets={0: 4}, positions={0: 6})
    recorder = Recorder()
    monitor = recorder.monitor(port, timeout_s=60)
    await monitor.check()
    recorder.now = 59
    await monitor.check()
    assert recorder.stalls == []
    recorder.now = 60
    await monitor.check()
    assert recorder.stalls == [Stall("changes", 0, processed_to=4, lag=6, timeout_s=60)]


async def test_progress_or_a_busy_batch_is_no_stall() -> None:
    port = FakePort(highwaters={0: 10}, committed_offsets={0: 4}, positions={0: 6})
    recorder = Recorder()
    monitor = recorder.monitor(port, timeout_s=60)
    await monitor.check()
    recorder.now = 50
    port.busy = True  # a long batch: the clock starts again after it
    await monitor.check()
    port.busy = False
    recorder.now = 100
    await monitor.check()
    port.committed_offsets[0] = 5  # moved
    recorder.now = 140
    await monitor.check()
    assert recorder.stalls == []


async def test_records_fetched_but_never_handed_over_are_read_back_on_the_second_look() -> None:
    port = FakePort(highwaters={0: 23}, committed_offsets={0: 22}, positions={0: 23})
    recorder = Recorder()
    monitor = recorder.monitor(port)
    await monitor.check()
    assert port.read_backs == []
    await monitor.check()
    assert port.read_backs == [(0, 22, 23)]
    await monitor.check()
    assert recorder.lags[-1] == (0, 0)


async def test_a_batch_processed_between_two_looks_means_no_read_back() -> None:
    port = FakePort(highwaters={0: 23}, committed_offsets={0: 22}, positions={0: 23})
    monitor = Recorder().monitor(port)
    await monitor.check()
    monitor.processed()
    await monitor.check()
    assert port.read_backs == []


async def test_no_read_back_while_the_app_is_not_settled() -> None:
    port = FakePort(highwaters={0: 23}, committed_offsets={0: 22}, positions={0: 23}, settled=False)
    monitor = Recorder().monitor(port)
    for _ in range(3):
        await monitor.check()
    assert port.read_backs == []


async def test_a_failed_read_back_is_logged_and_the_check_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = FakePort(
        highwaters={0: 23, 1: 3},
        committed_offsets={0: 22, 1: 3},
        positions={0: 23},
        read_back_fails=True,
    )
    recorder = Recorder()
    monitor = recorder.monitor(port)
    await monitor.check()
    await monitor.check()
    assert port.read_backs == [(0, 22, 23)]
    assert recorder.lags[-1] == (1, 0)
    assert "cannot read" in caplog.text


async def test_without_committed_offsets_nothing_is_measured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = FakePort(highwaters={0: 10}, broker_away=True)
    recorder = Recorder()
    monitor = recorder.monitor(port, timeout_s=1)
    await monitor.check()
    recorder.now = 100
    await monitor.check()
    assert recorder.lags == []
    assert recorder.stalls == []
    assert "committed offsets of changes unavailable" in caplog.text
