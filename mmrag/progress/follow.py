"""Redrawing progress until a :class:`~mmrag.progress.goal.Goal` is reached."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from rich.console import Console
from rich.live import Live

from mmrag.progress.goal import Goal
from mmrag.progress.rates import eta_seconds, format_duration
from mmrag.progress.report import ProgressTracker
from mmrag.progress.snapshot import Snapshot
from mmrag.progress.view import new_bar, screen


class Reader(Protocol):
    async def read(self) -> Snapshot: ...


async def follow_progress(
    probe: Reader,
    console: Console,
    *,
    goal: Goal | None = None,
    interval_s: float = 2.0,
    timeout_s: float | None = None,
    description: str = "processed",
) -> bool:
    """Show the sources, lanes and a bar every ``interval_s`` until ``goal`` (default: the
    whole backlog) is reached; False if ``timeout_s`` passed first."""
    goal = goal or Goal()
    tracker = ProgressTracker()
    started = time.monotonic()
    first = snapshot = await probe.read()
    report = tracker.observe(snapshot)
    bar = new_bar(console)
    task = bar.add_task(description, total=None, eta="?")
    with Live(screen(report, bar), console=console, refresh_per_second=4) as live:
        while True:
            completed, total = goal.counts(first, snapshot)
            eta = eta_seconds(total - completed, report.events_per_s)
            bar.update(task, completed=completed, total=total, eta=format_duration(eta))
            live.update(screen(report, bar))
            if goal.reached(snapshot):
                return True
            if timeout_s is not None and time.monotonic() - started >= timeout_s:
                return False
            await asyncio.sleep(interval_s)
            snapshot = await probe.read()
            report = tracker.observe(snapshot)
