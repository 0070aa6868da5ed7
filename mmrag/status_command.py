"""``mmrag status``: per source what was sent and what is searchable, per lane what the
worker has still to do, the rates and an ETA; with a progress bar until everything sent is
searchable (``--json``: one reading for scripts)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from mmrag.progress.probe import ProbeTargets
    from mmrag.progress.report import StatusReport

console = Console(stderr=True)


def status(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one reading as JSON and exit.")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--no-follow",
            help="Keep showing progress until the worker has caught up (default), or show "
            "one reading.",
        ),
    ] = True,
    interval_s: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between readings.")
    ] = 2.0,
    timeout_s: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Give up following after this many seconds."),
    ] = None,
) -> None:
    """Show indexing progress: sent, searchable, chunks/s, ETA, and the backlog per lane
    (live changes, bulk backfill)."""
    from mmrag.generation_report import index_build_line, read_index_build

    targets, elasticsearch_url = probe_targets(os.environ)
    if json_output:
        report = asyncio.run(_two_readings(targets, elasticsearch_url, interval_s))
        payload = report.to_json()
        payload["index_build"] = asyncio.run(
            read_index_build(elasticsearch_url, targets.chunks_alias)
        )
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        raise typer.Exit(1 if report.errors else 0)
    if not follow:
        report = asyncio.run(_two_readings(targets, elasticsearch_url, interval_s))
        from mmrag.progress.view import lanes_line, status_table

        console.print(status_table(report))
        console.print(lanes_line(report))
        build = index_build_line(
            asyncio.run(read_index_build(elasticsearch_url, targets.chunks_alias))
        )
        if build is not None:  # a new index generation (mmrag generations build)
            console.print(build)
        raise typer.Exit(1 if report.errors else 0)
    caught_up = asyncio.run(_follow(targets, elasticsearch_url, interval_s, timeout_s))
    raise typer.Exit(0 if caught_up else 1)


def probe_targets(environ: Mapping[str, str]) -> tuple[ProbeTargets, str]:
    """What to read, from the same ``MMRAG_…`` variables the worker and watcher read."""
    from indexer.settings import IndexerSettings
    from mmrag.bootstrap import load, stream_settings
    from mmrag.progress.probe import ProbeTargets
    from stream.lanes import Lane
    from stream.watcher import WatchSettings

    change_log = stream_settings(environ)
    indexer_settings = load(IndexerSettings, environ)
    targets = ProbeTargets(
        kafka_bootstrap=change_log.kafka_bootstrap,
        worker_group=change_log.worker_app_id,
        topics={Lane.LIVE: change_log.changes_topic, Lane.BACKFILL: change_log.backfill_topic},
        documents_index=indexer_settings.documents_index,
        chunks_alias=indexer_settings.chunks_alias,
        state_dir=load(WatchSettings, environ).state_dir,
    )
    return targets, indexer_settings.elasticsearch_url


async def _two_readings(
    targets: ProbeTargets, elasticsearch_url: str, interval_s: float
) -> StatusReport:
    """Two readings ``interval_s`` apart: the second has rates."""
    from elasticsearch import AsyncElasticsearch

    from mmrag.progress.probe import Probe
    from mmrag.progress.report import ProgressTracker

    tracker = ProgressTracker()
    async with (
        AsyncElasticsearch(elasticsearch_url, request_timeout=targets.timeout_s) as client,
        Probe(targets, client) as probe,
    ):
        tracker.observe(await probe.read())
        await asyncio.sleep(interval_s)
        return tracker.observe(await probe.read())


async def _follow(
    targets: ProbeTargets, elasticsearch_url: str, interval_s: float, timeout_s: float | None
) -> bool:
    """Redraw every ``interval_s`` until the worker has caught up; whether it did."""
    from elasticsearch import AsyncElasticsearch

    from mmrag.progress.follow import follow_progress
    from mmrag.progress.probe import Probe

    async with (
        AsyncElasticsearch(elasticsearch_url, request_timeout=targets.timeout_s) as client,
        Probe(targets, client) as probe,
    ):
        return await follow_progress(probe, console, interval_s=interval_s, timeout_s=timeout_s)
