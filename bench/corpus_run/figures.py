"""The figures of a corpus run and how they are reported (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PIPELINE_RATIO_GOAL = 0.8
LIVE_P95_GOAL_S = 2.0
IDLE_P50_GOAL_S = 0.8


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` in [0, 1]): the smallest value with at
    least that fraction of the values at or below it; ``None`` for no values."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be within [0, 1], not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


@dataclass(frozen=True)
class Freshness:
    """Seconds from a file's write to its chunk being searchable, per edit; edits that
    never became searchable within the wait are counted apart."""

    seconds: tuple[float, ...] = ()
    timed_out: int = 0
    sent_seconds: tuple[float, ...] = ()
    """Write → the watcher's event in Kafka: the watcher's share (debounce included)."""

    @property
    def p50(self) -> float | None:
        return percentile(self.seconds, 0.50)

    @property
    def p95(self) -> float | None:
        return percentile(self.seconds, 0.95)

    @property
    def sent_p50(self) -> float | None:
        return percentile(self.sent_seconds, 0.50)


@dataclass(frozen=True)
class CorpusRunFigures:
    corpus: str
    pages: int
    documents_searchable: int
    chunks: int
    total_s: float
    """From the scan's start to every event it sent processed (searchable)."""
    encoder: str
    bare_chunks: int
    bare_s: float
    """The bare default encoder over ``bare_chunks`` of the corpus's chunks, in-process."""
    live: Freshness = field(default_factory=Freshness)
    idle: Freshness = field(default_factory=Freshness)
    dead_letters: int = 0
    worker_restarts: int = 0
    """Restarts after the worker's own restartable exits (a stall, a backend given up on)."""

    @property
    def chunks_per_s(self) -> float | None:
        return ratio(self.chunks, self.total_s)

    @property
    def bare_chunks_per_s(self) -> float | None:
        return ratio(self.bare_chunks, self.bare_s)

    @property
    def pipeline_ratio(self) -> float | None:
        return ratio(self.chunks_per_s, self.bare_chunks_per_s)


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "MISSED")


def _at_most(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


def report_lines(figures: CorpusRunFigures) -> list[str]:
    """The printed report: one figure per line, with the goals they answer to."""
    pipeline_ratio = figures.pipeline_ratio
    ratio_met = None if pipeline_ratio is None else pipeline_ratio >= PIPELINE_RATIO_GOAL
    live, idle = figures.live, figures.idle
    return [
        f"corpus: {figures.corpus} ({figures.pages} pages)",
        f"searchable: {figures.documents_searchable} documents, {figures.chunks} chunks, "
        f"{figures.dead_letters} dead letters, {figures.worker_restarts} worker restarts",
        f"total time: {figures.total_s:.1f} s (scan start → every event processed)",
        f"pipeline: {_rate(figures.chunks_per_s)} chunks/s",
        f"bare default encoder ({figures.encoder}): {_rate(figures.bare_chunks_per_s)} "
        f"chunks/s over {figures.bare_chunks} of the corpus's chunks",
        f"ratio pipeline / bare encoder: {_ratio(pipeline_ratio)} "
        f"(goal ≥ {PIPELINE_RATIO_GOAL}: {_verdict(ratio_met)})",
        f"live-edit freshness during the load: p50 {_seconds(live.p50)}, "
        f"p95 {_seconds(live.p95)} over {len(live.seconds)} edits"
        f"{_timeouts(live)} (goal p95 ≤ {LIVE_P95_GOAL_S} s: "
        f"{_verdict(_at_most(live.p95, LIVE_P95_GOAL_S) if not live.timed_out else False)})",
        f"idle freshness after the load: p50 {_seconds(idle.p50)} over {len(idle.seconds)} "
        f"edits{_timeouts(idle)} (goal p50 ≤ {IDLE_P50_GOAL_S} s: "
        f"{_verdict(_at_most(idle.p50, IDLE_P50_GOAL_S))})",
        f"of which write → event in Kafka (watcher, debounce included): p50 "
        f"{_seconds(live.sent_p50)} during the load, {_seconds(idle.sent_p50)} idle",
    ]


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def _timeouts(freshness: Freshness) -> str:
    return f", {freshness.timed_out} never searchable in time" if freshness.timed_out else ""
