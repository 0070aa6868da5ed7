"""``mmrag watch --once --wait``: progress until the worker has processed what was sent."""

from __future__ import annotations

from collections.abc import Mapping

from elasticsearch import AsyncElasticsearch
from rich.console import Console

from mmrag.progress.follow import follow_progress
from mmrag.progress.goal import Goal
from mmrag.progress.probe import Probe, ProbeTargets


async def wait_until_processed(
    sent_ends: Mapping[tuple[str, int], int],
    sent_events: int,
    console: Console,
    targets: ProbeTargets,
    elasticsearch_url: str,
    *,
    interval_s: float = 2.0,
    timeout_s: float | None = None,
) -> bool:
    """Show sources, lanes and a bar over the events sent (``ChangeProducer.sent_ends``)
    until the worker group has processed them all; False on ``timeout_s``."""
    if not sent_ends:
        console.print("nothing sent: nothing to wait for")
        return True
    goal = Goal(sent_ends=dict(sent_ends), sent_events=sent_events)
    async with (
        AsyncElasticsearch(elasticsearch_url, request_timeout=targets.timeout_s) as client,
        Probe(targets, client) as probe,
    ):
        return await follow_progress(
            probe,
            console,
            goal=goal,
            interval_s=interval_s,
            timeout_s=timeout_s,
            description="sent events processed",
        )
