"""``mmrag topics create`` and ``mmrag watch DIR…``: the write side's front door."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mmrag import bootstrap
from mmrag.logging_setup import configure_logging

if TYPE_CHECKING:
    from stream.watcher import DirectoryWatcher

topics_app = typer.Typer(help="Kafka topics of mmrag.")
console = Console(stderr=True)


@topics_app.command("create")
def create_topics() -> None:
    """Create the change and dead-letter topics if missing (idempotent)."""
    from stream.topics import ensure_topics, topic_specs

    settings = bootstrap.stream_settings(os.environ)
    created = asyncio.run(ensure_topics(settings))
    for spec in topic_specs(settings):
        state = "created" if spec.name in created else "exists"
        console.print(f"{spec.name}: {state} ({spec.partitions} partitions)", highlight=False)


def watch(
    directories: Annotated[list[Path], typer.Argument(help="Directories to watch.")],
    source: Annotated[
        str | None,
        typer.Option(help="Source name (documents get source fs:<name>); default: dir name."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Reconcile once (emit what changed) and exit.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="With --once: show progress (sent, searchable, chunks/s, ETA) until the "
            "worker has processed everything sent.",
        ),
    ] = False,
    resend: Annotated[
        bool,
        typer.Option(
            "--resend",
            help="Send every file again (after the index was lost): the worker writes back "
            "the chunks missing from the index, embedding only those.",
        ),
    ] = False,
    polling: Annotated[
        bool | None, typer.Option("--polling/--native", help="Poll instead of inotify.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Watch directories and send upsert/delete/move events to Kafka.

    On start each tree is reconciled with what was last sent, so changes made while the
    watcher was down are sent too; SIGHUP asks for another reconciliation.
    """
    configure_logging(log_level)
    if source is not None and len(directories) > 1:
        raise typer.BadParameter("--source names one directory; watch several without it")
    for directory in directories:
        if not directory.is_dir():
            raise typer.BadParameter(f"{directory} is not a directory")
    if wait and not once:
        raise typer.BadParameter("--wait goes with --once (a running watcher never finishes)")
    if not asyncio.run(_watch(directories, source, once, polling, resend, wait)):
        raise typer.Exit(1)


async def _watch(
    directories: list[Path],
    source: str | None,
    once: bool,
    polling: bool | None,
    resend: bool = False,
    wait: bool = False,
) -> bool:
    """Whether it ended well (with ``wait``: the worker processed everything sent)."""
    from stream.producer import ChangeProducer
    from stream.topics import ensure_topics
    from stream.watcher import DirectoryWatcher

    configuration = bootstrap.watch_configuration(os.environ, polling=polling)
    stream_settings, watch_settings = configuration.stream, configuration.watch
    await ensure_topics(stream_settings)
    producer = ChangeProducer.from_settings(stream_settings)
    async with producer:
        watchers = [DirectoryWatcher(d, producer, watch_settings, source) for d in directories]
        try:
            with _progress() as progress:
                callbacks = {w.source: _progress_callback(progress, w.source) for w in watchers}
                if once:
                    for watcher in watchers:
                        outcome = await watcher.reconcile(callbacks[watcher.source], resend=resend)
                        console.print(
                            f"{watcher.source}: {outcome.count('upsert')} upserts, "
                            f"{outcome.count('delete')} deletes, {outcome.count('move')} moves, "
                            f"{outcome.problems} problems",
                            highlight=False,
                        )
                else:
                    loop = asyncio.get_running_loop()
                    for signal_number in (signal.SIGINT, signal.SIGTERM):
                        loop.add_signal_handler(signal_number, _each(watchers, "stop"))
                    loop.add_signal_handler(signal.SIGHUP, _each(watchers, "request_reconcile"))
                    await asyncio.gather(*(w.run(callbacks[w.source]) for w in watchers))
        finally:
            for watcher in watchers:
                watcher.close()
    if once and wait:
        from mmrag.progress.wait import wait_until_processed
        from mmrag.status_command import probe_targets

        targets, elasticsearch_url = probe_targets(os.environ)
        sent = sum(sum(watcher.sent.values()) for watcher in watchers)
        return await wait_until_processed(
            producer.sent_ends, sent, console, targets, elasticsearch_url
        )
    return True


def _each(watchers: list[DirectoryWatcher], method: str) -> Callable[[], None]:
    def call() -> None:
        for watcher in watchers:
            getattr(watcher, method)()

    return call


def _progress_callback(progress: Progress, source: str) -> Callable[[int, int], None]:
    task = progress.add_task(f"scanning {source}", total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update


@contextlib.contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        yield progress
