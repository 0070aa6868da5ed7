"""Live-edit freshness: write a small note into a watched folder and time until its chunk
is searchable (a count on the chunks alias finds its document), and until the watcher had
its event acknowledged by Kafka (the watcher's share of the delay)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elasticsearch import AsyncElasticsearch

from bench.corpus_run.figures import Freshness
from indexer.events import derive_doc_id

POLL_S = 0.05


@dataclass(frozen=True)
class EditTiming:
    searchable_s: float | None
    """Write → chunk found; None: not within the timeout."""
    sent_s: float | None
    """Write → the watcher's event acknowledged by Kafka (seen at the next poll)."""


class EditTimer:
    def __init__(
        self,
        folder: Path,
        source: str,
        client: AsyncElasticsearch,
        chunks_alias: str,
        sent_count: Callable[[], int],
        *,
        timeout_s: float = 120.0,
    ) -> None:
        """``sent_count``: how many events the folder's watcher has had acknowledged."""
        self._folder = folder
        self._source = source
        self._client = client
        self._chunks_alias = chunks_alias
        self._sent_count = sent_count
        self._timeout_s = timeout_s
        self._written = 0

    async def time_one(self, label: str) -> EditTiming:
        self._written += 1
        name = f"{label}-{self._written:04d}.md"
        doc_id = derive_doc_id(self._source, name)
        sent_before = self._sent_count()
        sent_s: float | None = None
        started = time.perf_counter()
        (self._folder / name).write_text(
            f"# Note {self._written}\n\nA small live edit, number {self._written} ({label})."
        )
        while time.perf_counter() - started < self._timeout_s:
            if sent_s is None and self._sent_count() > sent_before:
                sent_s = time.perf_counter() - started
            found = await self._client.count(
                index=self._chunks_alias, query={"term": {"doc_id": doc_id}}
            )
            if found["count"]:
                return EditTiming(time.perf_counter() - started, sent_s)
            await asyncio.sleep(POLL_S)
        return EditTiming(None, sent_s)


class _Timings:
    def __init__(self) -> None:
        self.searchable: list[float] = []
        self.sent: list[float] = []
        self.timed_out = 0

    def add(self, timing: EditTiming) -> None:
        if timing.searchable_s is None:
            self.timed_out += 1
        else:
            self.searchable.append(timing.searchable_s)
        if timing.sent_s is not None:
            self.sent.append(timing.sent_s)

    def freshness(self) -> Freshness:
        return Freshness(tuple(self.searchable), self.timed_out, tuple(self.sent))


async def edits_until(timer: EditTimer, done: asyncio.Event, every_s: float) -> Freshness:
    """An edit every ``every_s`` seconds (or as soon as the previous one is searchable,
    if that took longer) until ``done`` is set."""
    timings = _Timings()
    while not done.is_set():
        started = time.monotonic()
        timings.add(await timer.time_one("live"))
        rest = every_s - (time.monotonic() - started)
        if rest > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), rest)
    return timings.freshness()


async def idle_edits(timer: EditTimer, count: int, spacing_s: float) -> Freshness:
    timings = _Timings()
    for _ in range(count):
        timings.add(await timer.time_one("idle"))
        await asyncio.sleep(spacing_s)
    return timings.freshness()
