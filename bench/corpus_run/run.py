"""One corpus run on the running stack: its own topics, indexes, group and worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from elasticsearch import AsyncElasticsearch
from rich.console import Console

from bench.corpus_run.bare import bare_seconds, corpus_texts
from bench.corpus_run.cleanup import dead_letter_count, delete_run_indexes, delete_run_topics
from bench.corpus_run.figures import CorpusRunFigures, Freshness
from bench.corpus_run.freshness import EditTimer, edits_until, idle_edits
from bench.corpus_run.names import RunNames
from bench.corpus_run.worker import WorkerFailed, WorkerSubprocess
from indexer.settings import IndexerSettings
from mmrag.bootstrap import load
from mmrag.progress.follow import follow_progress
from mmrag.progress.goal import Goal
from mmrag.progress.probe import Probe, ProbeTargets
from mmrag.progress.snapshot import Snapshot
from stream.lanes import Lane
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.topics import ensure_topics
from stream.watcher import DirectoryWatcher, PathFilter, WatchSettings
from stream.watcher.observe import walk_files

LIVE_SOURCE = "bench-live"


@dataclass(frozen=True)
class RunOptions:
    corpus: Path
    kafka_bootstrap: str
    elasticsearch_url: str
    limit: int | None = None
    edit_every_s: float = 3.0
    idle_edits: int = 10
    bare_chunks: int = 600
    timeout_s: float = 3600.0
    keep: bool = False


def copy_pages(corpus: Path, target: Path, limit: int | None) -> int:
    """The files the watcher would index (its default filter), the first ``limit`` of them
    in path order, copied with their folders; how many."""
    paths = list(walk_files(corpus, PathFilter.from_settings(WatchSettings())))[:limit]
    for relative in paths:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / relative, destination)
    return len(paths)


class _WatchedProbe:
    """Readings that restart the run's worker as a supervisor would, and fail fast if it
    died otherwise."""

    def __init__(self, probe: Probe, worker: WorkerSubprocess) -> None:
        self._probe = probe
        self._worker = worker

    async def read(self) -> Snapshot:
        self._worker.supervise()
        return await self._probe.read()


def _bare(pages_root: Path, wanted: int, console: Console) -> tuple[str, int, float]:
    from indexer.encoders.loading import load_encoders
    from indexer.encoders.settings import EncoderSettings

    # The text encoder the worker gets from the same environment, alone (no CLIP model).
    encoders = load_encoders(load(EncoderSettings, os.environ, clip_model=""))
    pages = sorted(path for path in pages_root.rglob("*") if path.is_file())
    texts = corpus_texts(pages, encoders.text, load(IndexerSettings, os.environ), wanted)
    console.print(f"bare encoder: {encoders.text.name} over {len(texts)} chunk texts…")
    return encoders.text.name, len(texts), bare_seconds(encoders.text, texts)


async def run_corpus(options: RunOptions, console: Console) -> CorpusRunFigures:
    names = RunNames(uuid.uuid4().hex[:10])
    name = options.corpus.resolve().name or "corpus"
    with tempfile.TemporaryDirectory(prefix="mmrag-bench-corpus-") as scratch:
        work = Path(scratch)
        pages_root, live_root = work / name, work / LIVE_SOURCE
        live_root.mkdir()
        pages = copy_pages(options.corpus, pages_root, options.limit)
        if not pages:
            raise ValueError(f"{options.corpus} holds no file the watcher indexes")
        encoder, bare_chunks, bare_s = await asyncio.to_thread(
            _bare, pages_root, options.bare_chunks, console
        )
        stream_settings = StreamSettings(
            kafka_bootstrap=options.kafka_bootstrap,
            changes_topic=names.changes_topic,
            backfill_topic=names.backfill_topic,
            dead_letter_topic=names.dead_letter_topic,
        )
        await ensure_topics(stream_settings)
        worker = WorkerSubprocess(
            names.environment(options.kafka_bootstrap, options.elasticsearch_url)
            | {"MMRAG_CLIP_REQUIRED": "false"},
            work / "worker",
        )
        client = AsyncElasticsearch(options.elasticsearch_url, request_timeout=30)
        try:
            worker.start()
            console.print(f"run {names.suffix}: {pages} pages; starting the worker…")
            await worker.wait_ready()
            load = await _load(options, names, stream_settings, worker, client, work, console)
        finally:
            worker.stop()
            if not options.keep:
                await delete_run_indexes(client, names)
                await delete_run_topics(options.kafka_bootstrap, names)
            await client.close()
    return CorpusRunFigures(
        corpus=str(options.corpus),
        pages=pages,
        documents_searchable=load.documents,
        chunks=load.chunks,
        total_s=load.total_s,
        encoder=encoder,
        bare_chunks=bare_chunks,
        bare_s=bare_s,
        live=load.live,
        idle=load.idle,
        dead_letters=load.dead_letters,
        worker_restarts=worker.restarts,
    )


@dataclass(frozen=True)
class _LoadFigures:
    documents: int
    chunks: int
    total_s: float
    live: Freshness
    idle: Freshness
    dead_letters: int


async def _load(
    options: RunOptions,
    names: RunNames,
    stream_settings: StreamSettings,
    worker: WorkerSubprocess,
    client: AsyncElasticsearch,
    work: Path,
    console: Console,
) -> _LoadFigures:
    """Watch the live folder, scan the corpus onto the backfill lane, time live edits until
    the worker has processed the scan, then idle edits."""
    name = options.corpus.resolve().name or "corpus"
    watch_settings = WatchSettings(state_dir=work / "state")
    targets = ProbeTargets(
        kafka_bootstrap=options.kafka_bootstrap,
        worker_group=names.app_id,
        topics={Lane.LIVE: names.changes_topic, Lane.BACKFILL: names.backfill_topic},
        documents_index=names.documents_index,
        chunks_alias=names.chunks_alias,
        state_dir=watch_settings.state_dir,
    )
    async with (
        Probe(targets, client) as kafka_probe,
        ChangeProducer.from_settings(stream_settings) as live_producer,
        ChangeProducer.from_settings(stream_settings) as bulk_producer,
    ):
        probe = _WatchedProbe(kafka_probe, worker)
        live_watcher = DirectoryWatcher(
            work / LIVE_SOURCE, live_producer, watch_settings, LIVE_SOURCE
        )
        live_task = asyncio.create_task(live_watcher.run())
        bulk_watcher = DirectoryWatcher(work / name, bulk_producer, watch_settings, name)
        try:
            await asyncio.wait_for(live_watcher.ready.wait(), 60)
            timer = EditTimer(
                work / LIVE_SOURCE,
                f"fs:{LIVE_SOURCE}",
                client,
                names.chunks_alias,
                lambda: live_watcher.sent[Lane.LIVE],
            )
            started = time.monotonic()
            outcome = await bulk_watcher.reconcile()
            console.print(
                f"scan sent {len(outcome.events)} events to the backfill lane in "
                f"{time.monotonic() - started:.1f} s; live edits every {options.edit_every_s} s"
            )
            loaded = asyncio.Event()
            edits = asyncio.create_task(edits_until(timer, loaded, options.edit_every_s))
            try:
                reached = await follow_progress(
                    probe,
                    console,
                    goal=Goal(bulk_producer.sent_ends, len(outcome.events)),
                    interval_s=1.0,
                    timeout_s=options.timeout_s,
                    description="corpus events processed",
                )
                total_s = time.monotonic() - started
            finally:
                loaded.set()
                live = await edits
            if not reached:
                raise WorkerFailed(
                    f"the load did not finish in {options.timeout_s:.0f} s:\n{worker.tail()}"
                )
            idle = await idle_edits(timer, options.idle_edits, spacing_s=1.0)
            reading = await probe.read()
        finally:
            live_watcher.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(live_task, 10)
            live_watcher.close()
            bulk_watcher.close()
    corpus = next((source for source in reading.sources if source.source == f"fs:{name}"), None)
    return _LoadFigures(
        documents=corpus.searchable_documents if corpus else 0,
        chunks=corpus.chunks if corpus else 0,
        total_s=total_s,
        live=live,
        idle=idle,
        dead_letters=await dead_letter_count(options.kafka_bootstrap, names),
    )
