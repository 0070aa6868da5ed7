"""Rates and ETAs from successive samples of a growing count (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    at: float
    """Seconds on a monotonic clock."""
    value: float


class RateEstimator:
    """Per-second rate of a count over the last ``window_s`` seconds of samples: the
    difference between the newest and the oldest sample in the window over the time
    between them. A window smooths the batchy progress of the worker (a batch's chunks
    appear together) without hiding a change of pace for long."""

    def __init__(self, window_s: float = 30.0) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, not {window_s}")
        self._window_s = window_s
        self._samples: deque[Sample] = deque()

    def add(self, at: float, value: float) -> None:
        if self._samples and at < self._samples[-1].at:
            raise ValueError(f"samples go forward in time: {at} after {self._samples[-1].at}")
        self._samples.append(Sample(at, value))
        # Keep one sample at or before the window's start, so the window stays covered.
        while len(self._samples) > 2 and self._samples[1].at <= at - self._window_s:
            self._samples.popleft()

    def rate(self) -> float | None:
        """Per second; ``None`` until two samples at different times exist. Never negative
        (a count that went down, e.g. documents deleted, is no progress)."""
        if len(self._samples) < 2:
            return None
        first, last = self._samples[0], self._samples[-1]
        elapsed = last.at - first.at
        if elapsed <= 0:
            return None
        return max(0.0, (last.value - first.value) / elapsed)


def eta_seconds(remaining: float, rate: float | None) -> float | None:
    """Seconds until ``remaining`` is done at ``rate`` per second; 0 when nothing remains,
    ``None`` when unknown (no rate yet, or no progress being made)."""
    if remaining <= 0:
        return 0.0
    if rate is None or rate <= 0:
        return None
    return remaining / rate


def format_duration(seconds: float | None) -> str:
    """``4s``, ``3m05s``, ``2h07m``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
