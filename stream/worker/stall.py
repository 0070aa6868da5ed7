"""Noticing a consumer that has stopped making progress (pure; the clock is passed in).

A partition is stalled when it has records waiting (lag > 0) and how far it has been
processed (the group's committed offset, or further) has not moved for ``timeout_s``.
The worker then says so loudly and exits without acknowledging, so that its supervisor
restarts it and the group hands the partitions out again — a stall never goes silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StallDetector:
    timeout_s: float
    _last: dict[int, tuple[int, float]] = field(default_factory=dict)

    def observe(self, partition: int, position: int, lag: int, now: float) -> float:
        """Record a sample; return for how long the partition has been stuck (0 if not)."""
        previous = self._last.get(partition)
        if previous is None or previous[0] != position or lag == 0:
            self._last[partition] = (position, now)
            return 0.0
        return now - previous[1]

    def stalled(self, partition: int, position: int, lag: int, now: float) -> bool:
        return self.timeout_s > 0 and self.observe(partition, position, lag, now) >= self.timeout_s

    def forget_all_but(self, partitions: set[int]) -> None:
        for partition in set(self._last) - partitions:
            del self._last[partition]


@dataclass
class TailWatch:
    """Noticing records at a partition's end that the consumer fetched but never handed
    over: nothing was processed between two looks, everything up to the high watermark
    was fetched, yet processing stands below it, unmoved."""

    _last: dict[int, tuple[int, int]] = field(default_factory=dict)

    def unmoved(self, partition: int, progress: int, highwater: int, fetched: int | None) -> bool:
        waiting = progress < highwater and fetched is not None and fetched >= highwater
        if not waiting:
            self._last.pop(partition, None)
            return False
        seen = (progress, highwater)
        previous = self._last.get(partition)
        self._last[partition] = seen
        return previous == seen

    def forget(self) -> None:
        """Something was processed: start looking afresh."""
        self._last.clear()
