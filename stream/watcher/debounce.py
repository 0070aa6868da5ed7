"""Debouncing bursts of file-system events (pure: the clock is passed in)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class Debouncer(Generic[Key]):
    """Coalesces events per key into one, due ``quiet_s`` after the *first* event.

    The deadline is fixed at the first event of a burst, so a change is never delayed by
    more than ``quiet_s``, however long the burst; events arriving after the deadline start
    a new burst (the watcher's state then drops a second change with identical content).
    """

    def __init__(self, quiet_s: float) -> None:
        self._quiet_s = quiet_s
        self._deadlines: dict[Key, float] = {}

    def __len__(self) -> int:
        return len(self._deadlines)

    def touch(self, key: Key, now: float, delay_s: float | None = None) -> None:
        """Record an event for ``key``; ``delay_s`` overrides the quiet period (retries)."""
        if key not in self._deadlines:
            self._deadlines[key] = now + (self._quiet_s if delay_s is None else delay_s)

    def due(self, now: float) -> list[Key]:
        """Remove and return the keys whose deadline has passed, oldest first."""
        ready = sorted(
            (deadline, index, key)
            for index, (key, deadline) in enumerate(self._deadlines.items())
            if deadline <= now
        )
        for _, _, key in ready:
            del self._deadlines[key]
        return [key for _, _, key in ready]

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)
