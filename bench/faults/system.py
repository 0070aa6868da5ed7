"""One scenario's system: its topics and indexes, the real worker, the real watcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from elasticsearch import AsyncElasticsearch

from bench.faults.observe import Audit, audit_folder
from bench.faults.private_stack import PrivateStack
from bench.faults.processes import ServiceProcess, Supervisor
from indexer.settings import IndexerSettings
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.topics import ensure_topics
from stream.watcher import DirectoryWatcher, WatchSettings
from stream.worker.partition_reader import PartitionReader
from tests.integration.worker_process import WorkerEnvironment, free_port

PARTITIONS = 3
logger = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass(frozen=True)
class Settled:
    audit: Audit
    seconds: float
    drained: bool
    """The worker's group had committed the whole topic (else the timeout was reached)."""


@dataclass
class System:
    """The names of one scenario's topics and indexes, and its processes."""

    stack: PrivateStack
    workdir: Path
    say: Say
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    worker: ServiceProcess | None = None
    watcher: DirectoryWatcher | None = None
    producer: ChangeProducer | None = None
    batch_size: int = 16
    """The worker's batch size: small batches commit often, so faults land between and
    inside them; the hostile scenario uses the default for its thousands of records."""
    watcher_failure: str | None = None
    """Why the watcher stopped on its own during the run, if it did."""

    @property
    def topic(self) -> str:
        return f"faults.{self.suffix}"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}.dlq"

    @property
    def app_id(self) -> str:
        return f"faults-{self.suffix}"

    @property
    def folder(self) -> Path:
        return self.workdir / "watched"

    @property
    def indexer_settings(self) -> IndexerSettings:
        return IndexerSettings(
            elasticsearch_url=self.stack.elasticsearch_url,
            chunks_alias=f"faults-{self.suffix}-chunks",
            documents_index=f"faults-{self.suffix}-documents",
        )

    @property
    def stream_settings(self) -> StreamSettings:
        return StreamSettings(
            kafka_bootstrap=self.stack.kafka_bootstrap,
            changes_topic=self.topic,
            backfill_topic=f"{self.topic}.backfill",
            dead_letter_topic=self.dead_letter_topic,
            changes_partitions=PARTITIONS,
        )

    def service_environment(self) -> dict[str, str]:
        """What every process of ours is configured with: this scenario's names, no CLIP
        (the load is text), no OCR, models offline, ``batch_size``."""
        indexer = self.indexer_settings
        environment = WorkerEnvironment(
            kafka_bootstrap=self.stack.kafka_bootstrap,
            elasticsearch_url=indexer.elasticsearch_url,
            changes_topic=self.topic,
            backfill_topic=f"{self.topic}.backfill",
            chunks_alias=indexer.chunks_alias,
            documents_index=indexer.documents_index,
            app_id=self.app_id,
            clip_model="",
            partitions=PARTITIONS,
        )
        variables = environment.variables(free_port())
        variables.update(
            {
                "MMRAG_CLIP_REQUIRED": "false",
                "MMRAG_OCR": "off",
                "MMRAG_WORKER_BATCH_SIZE": str(self.batch_size),
            }
        )
        return variables

    def new_worker(self) -> ServiceProcess:
        return ServiceProcess(
            "worker",
            ["worker", "--log-level", "info"],
            self.service_environment(),
            self.workdir,
            ready_line="worker ready",
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Supervisor]:
        """Topics made, the worker started and supervised, the watcher watching ``folder``
        (files already there are sent by its first reconcile)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        await ensure_topics(self.stream_settings)
        self.worker = self.new_worker()
        self.worker.start()
        await self.worker.wait_ready()
        self.producer = ChangeProducer(
            self.stack.kafka_bootstrap, self.topic, self.dead_letter_topic
        )
        await self.producer.start()
        self.watcher = DirectoryWatcher(
            self.folder,
            self.producer,
            WatchSettings(state_dir=self.workdir / "watcher-state", debounce_ms=200),
            "faults",
        )
        watching = asyncio.create_task(self.watcher.run())
        try:
            with Supervisor([self.worker]) as supervisor:
                yield supervisor
        finally:
            if watching.done() and watching.exception() is not None:
                self.watcher_failure = repr(watching.exception())
            self.watcher.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(watching, 30)
            self.watcher.close()
            with contextlib.suppress(Exception):
                await self.producer.stop()

    async def lag(self) -> int | None:
        """Records of the changes topic the worker's group has not committed (None: the
        broker did not answer)."""
        reader = PartitionReader(self.stack.kafka_bootstrap, self.app_id, self.topic, timeout_s=5)
        try:
            partitions = await reader.partitions()
            ends = await reader.ends(partitions)
            committed = await reader.committed(partitions)
        except Exception:
            return None
        finally:
            with contextlib.suppress(Exception):
                await reader.close()
        return sum(ends[p] - (committed.get(p) or 0) for p in partitions)

    async def audit(self) -> Audit:
        client = AsyncElasticsearch(self.stack.elasticsearch_url, request_timeout=30)
        try:
            return await audit_folder(client, self.indexer_settings, self.folder)
        finally:
            await client.close()

    async def indexed_count(self) -> int:
        """Live manifests in the documents index (0 while it is unreachable)."""
        client = AsyncElasticsearch(self.stack.elasticsearch_url, request_timeout=5)
        try:
            response = await client.count(
                index=self.indexer_settings.documents_index,
                query={"bool": {"must_not": {"term": {"deleted": True}}}},
            )
            return int(response["count"])
        except Exception:
            return 0
        finally:
            await client.close()

    async def settle(self, timeout_s: float, quiet_s: float = 30.0) -> Settled:
        """Wait until the index matches the folder, or until nothing has moved for
        ``quiet_s`` with no lag, or ``timeout_s``."""
        started = time.monotonic()
        last_change = started
        previous: tuple[int, ...] | None = None
        while True:
            await asyncio.sleep(3.0)
            try:
                result = await self.audit()
            except Exception as error:  # the index may be away: keep waiting
                self.say(f"  audit not possible yet: {type(error).__name__}")
                continue
            findings = result.findings
            lag = await self.lag()
            shape = (
                len(findings.lost),
                len(findings.outdated),
                len(findings.missing_chunks),
                len(findings.stale_chunks),
                len(findings.deleted_present),
                lag if lag is not None else -1,
            )
            now = time.monotonic()
            if shape != previous:
                previous, last_change = shape, now
                self.say(
                    f"  {now - started:5.0f}s lost={shape[0]} outdated={shape[1]} "
                    f"missing_chunks={shape[2]} stale_chunks={shape[3]} "
                    f"deleted_present={shape[4]} lag={lag}"
                )
            clean = not any(shape[:5]) and not findings.wrong_chunks
            if (clean or now - last_change > quiet_s) and lag == 0:
                return Settled(result, now - started, drained=True)
            if now - started > timeout_s:
                self.say(f"  not settled after {timeout_s:.0f}s (lag {lag})")
                return Settled(result, now - started, drained=False)
