"""Watching one topic's partitions make progress: lag, stuck tails, stalls.

``ProgressMonitor.check`` runs on the worker's timer. Through a small consumer port it
learns which partitions are assigned, their high watermarks, fetch positions and the
group's committed offsets; then, per partition, it

- reports the lag (high watermark minus how far processing stands) to ``on_lag``, and
  ``None`` once a partition is no longer assigned;
- reads back records at a partition's end that the consumer fetched but never handed over
  (``TailWatch``), through the port;
- calls ``on_stall`` when a partition with records waiting has not moved for the stall
  timeout (``StallDetector``); the worker's callback exits without acknowledging.

Pure decisions over the port and an injected clock: unit-tested with a fake port.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from stream.worker.partition_reader import ReadBackError
from stream.worker.stall import StallDetector, TailWatch

logger = logging.getLogger(__name__)


class ConsumerPort(Protocol):
    """What the monitor needs of one topic's consumer and of the lane processing it."""

    def assigned(self) -> set[int]:
        """The topic's partitions assigned to this worker now."""
        ...

    def highwater(self, partition: int) -> int | None:
        """The partition's high watermark as last fetched (None if not known yet)."""
        ...

    async def position(self, partition: int) -> int | None:
        """The consumer's fetch position in the partition."""
        ...

    async def committed(self, partitions: Iterable[int]) -> dict[int, int | None]:
        """The group's committed offsets; raises ``ReadBackError`` if the broker is away."""
        ...

    def progress(self, partition: int, committed: int | None) -> int | None:
        """How far the partition has been processed (committed, or further)."""
        ...

    @property
    def busy(self) -> bool:
        """A batch is being processed now (so nothing can be judged stuck)."""
        ...

    @property
    def settled(self) -> bool:
        """The processor is up and no rebalance or recovery is under way."""
        ...

    async def read_back_tail(self, partition: int, committed: int | None, end: int) -> int:
        """Read back and process the partition from where processing stands to ``end``."""
        ...


@dataclass(frozen=True)
class Stall:
    topic: str
    partition: int
    processed_to: int
    lag: int
    timeout_s: float


class ProgressMonitor:
    def __init__(
        self,
        topic: str,
        port: ConsumerPort,
        *,
        stall_timeout_s: float,
        clock: Callable[[], float],
        on_stall: Callable[[Stall], None],
        on_lag: Callable[[int, int | None], None] | None = None,
    ) -> None:
        self._topic = topic
        self._port = port
        self._stalls = StallDetector(stall_timeout_s)
        self._tails = TailWatch()
        self._clock = clock
        self._on_stall = on_stall
        self._on_lag = on_lag or (lambda partition, lag: None)
        self._reported: set[int] = set()

    def processed(self) -> None:
        """A batch went through: records at a partition's end are looked at afresh."""
        self._tails.forget()

    async def check(self) -> None:
        port = self._port
        assigned = port.assigned()
        self._stalls.forget_all_but(assigned)
        for partition in self._reported - assigned:
            self._reported.discard(partition)
            self._on_lag(partition, None)  # not ours any more: no lag to report
        if not assigned:
            return
        try:
            committed = await port.committed(assigned)
        except ReadBackError as error:  # the broker is away: nothing to measure against
            logger.warning("committed offsets of %s unavailable: %s", self._topic, error)
            return
        settled = port.settled
        for partition in sorted(assigned & port.assigned()):  # not what went meanwhile
            highwater = port.highwater(partition)
            if highwater is None:
                continue
            progress = port.progress(partition, committed.get(partition)) or 0
            lag = max(highwater - progress, 0)
            self._on_lag(partition, lag)
            self._reported.add(partition)
            if port.busy:
                self._stalls.forget_all_but(set())
                self._tails.forget()
                continue
            fetched = await port.position(partition)
            if settled and self._tails.unmoved(partition, progress, highwater, fetched):
                try:
                    await port.read_back_tail(partition, committed.get(partition), highwater)
                except ReadBackError as error:
                    logger.error("%s", error)
                continue
            if self._stalls.stalled(partition, progress, lag, self._clock()):
                self._on_stall(Stall(self._topic, partition, progress, lag, self._stalls.timeout_s))
