"""What successive readings say: rates, ETAs, and whether everything sent is searchable
(pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mmrag.progress.rates import RateEstimator, eta_seconds
from mmrag.progress.snapshot import Snapshot
from stream.lanes import Lane


@dataclass(frozen=True)
class LaneStatus:
    lane: Lane
    topic: str
    pending: int
    events_per_s: float | None
    eta_s: float | None


@dataclass(frozen=True)
class SourceStatus:
    source: str
    sent_documents: int | None
    searchable_documents: int
    chunks: int
    chunks_per_s: float | None
    eta_s: float | None
    """Until the documents sent are searchable, at the documents' rate (None if unknown)."""


@dataclass(frozen=True)
class StatusReport:
    lanes: tuple[LaneStatus, ...]
    sources: tuple[SourceStatus, ...]
    chunks_searchable: int | None
    chunks_per_s: float | None
    pending: int
    events_per_s: float | None
    eta_s: float | None
    errors: tuple[str, ...]
    generation: str | None = None
    """The generation searched (the chunks alias's); ``None``: nothing indexed, or unread."""
    documents_index: str | None = None
    """Where the searchable counts come from: that generation's documents index."""

    @property
    def caught_up(self) -> bool:
        """Every event sent has been processed (and so is searchable, or dead-lettered)."""
        return not self.errors and self.pending == 0

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["caught_up"] = self.caught_up
        for lane in body["lanes"]:
            lane["lane"] = str(lane["lane"])
        return body


class ProgressTracker:
    """Feeds each reading to rate estimators (per lane: events processed; per source:
    chunks and documents searchable; overall: the chunks alias's count) and reports."""

    def __init__(self, window_s: float = 30.0) -> None:
        self._window_s = window_s
        self._estimators: dict[str, RateEstimator] = {}

    def _rate(self, key: str, at: float, value: float) -> float | None:
        estimator = self._estimators.setdefault(key, RateEstimator(self._window_s))
        estimator.add(at, value)
        return estimator.rate()

    def observe(self, snapshot: Snapshot) -> StatusReport:
        at = snapshot.at
        lanes = []
        for lane in snapshot.lanes:
            rate = self._rate(f"lane:{lane.lane}", at, lane.processed)
            lanes.append(
                LaneStatus(
                    lane.lane, lane.topic, lane.pending, rate, eta_seconds(lane.pending, rate)
                )
            )
        sources = []
        for source in snapshot.sources:
            chunk_rate = self._rate(f"chunks:{source.source}", at, source.chunks)
            document_rate = self._rate(
                f"documents:{source.source}", at, source.searchable_documents
            )
            remaining = (
                None
                if source.sent_documents is None
                else source.sent_documents - source.searchable_documents
            )
            sources.append(
                SourceStatus(
                    source=source.source,
                    sent_documents=source.sent_documents,
                    searchable_documents=source.searchable_documents,
                    chunks=source.chunks,
                    chunks_per_s=chunk_rate,
                    eta_s=None if remaining is None else eta_seconds(remaining, document_rate),
                )
            )
        chunks_rate = (
            None
            if snapshot.chunks_searchable is None
            else self._rate("chunks", at, snapshot.chunks_searchable)
        )
        known_rates = [lane.events_per_s for lane in lanes if lane.events_per_s is not None]
        events_rate = sum(known_rates) if known_rates else None
        return StatusReport(
            lanes=tuple(lanes),
            sources=tuple(sources),
            chunks_searchable=snapshot.chunks_searchable,
            chunks_per_s=chunks_rate,
            pending=snapshot.pending,
            events_per_s=events_rate,
            eta_s=eta_seconds(snapshot.pending, events_rate),
            errors=snapshot.errors,
            generation=snapshot.generation,
            documents_index=snapshot.documents_index,
        )
