"""Live-edit freshness: write a small note into a watched folder and time until its chunk
is searchable (a count on the chunks alias finds its document)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from elasticsearch import AsyncElasticsearch

from bench.corpus_run.figures import Freshness
from indexer.events import derive_doc_id

POLL_S = 0.05


class EditTimer:
    def __init__(
        self,
        folder: Path,
        source: str,
        client: AsyncElasticsearch,
        chunks_alias: str,
        *,
        timeout_s: float = 120.0,
    ) -> None:
        self._folder = folder
        self._source = source
        self._client = client
        self._chunks_alias = chunks_alias
        self._timeout_s = timeout_s
        self._written = 0

    async def time_one(self, label: str) -> float | None:
        """Seconds from writing a new note to its chunk being found; None on timeout."""
        self._written += 1
        name = f"{label}-{self._written:04d}.md"
        doc_id = derive_doc_id(self._source, name)
        started = time.perf_counter()
        (self._folder / name).write_text(
            f"# Note {self._written}\n\nA small live edit, number {self._written} ({label})."
        )
        while time.perf_counter() - started < self._timeout_s:
            found = await self._client.count(
                index=self._chunks_alias, query={"term": {"doc_id": doc_id}}
            )
            if found["count"]:
                return time.perf_counter() - started
            await asyncio.sleep(POLL_S)
        return None


async def edits_until(timer: EditTimer, done: asyncio.Event, every_s: float) -> Freshness:
    """An edit every ``every_s`` seconds (or as soon as the previous one is searchable,
    if that took longer) until ``done`` is set."""
    seconds: list[float] = []
    timed_out = 0
    while not done.is_set():
        started = time.monotonic()
        elapsed = await timer.time_one("live")
        if elapsed is None:
            timed_out += 1
        else:
            seconds.append(elapsed)
        rest = every_s - (time.monotonic() - started)
        if rest > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), rest)
    return Freshness(tuple(seconds), timed_out)


async def idle_edits(timer: EditTimer, count: int, spacing_s: float) -> Freshness:
    seconds: list[float] = []
    timed_out = 0
    for _ in range(count):
        elapsed = await timer.time_one("idle")
        if elapsed is None:
            timed_out += 1
        else:
            seconds.append(elapsed)
        await asyncio.sleep(spacing_s)
    return Freshness(tuple(seconds), timed_out)
