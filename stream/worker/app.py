"""The Faust app: two change topics (lanes), the manifest table, an agent per lane and a
timer, declared plainly.

    mmrag.changes ─────────┐ (live: saved files, webhooks; batches of ``batch_size``)
    mmrag.changes.backfill ┴─> ChangeBatchProcessor per lane ──> Elasticsearch
         (bulk: scans, resends, replays;     │            └──> manifests table (shared)
          batches of ``backfill_batch_size``) └──> mmrag.changes.dlq

Live changes first (docs/architecture.md, "Live changes first"): the two agents run
concurrently; the lanes' pipelines take turns at the encoders, live first, a sub-batch at
a time (``priority``); a document is processed by one lane at a time (``document_locks``);
backfill batches are small, so a bulk load becomes searchable a few documents at a time.
The topics are co-partitioned (same key, same partition count), so one worker owns
partition p of both and of the manifest table.

Events are acknowledged by hand only after the lane's processor returns, i.e. after
Elasticsearch acknowledged the batch's writes (``noack_take``: plain ``take`` would also
acknowledge a batch interrupted by a shutdown or a rebalance, losing it). At-least-once,
and replays are harmless because every write is idempotent (content-addressed chunk ids,
versioned manifests).

Everything beside the declarations lives in one ``ChangeLane`` per topic (``lane``): Faust
itself can skip a record after a restart or rebalance and commit past it, so its
``GapRecoveringHandler`` notices the hole in the offsets and reads the record back from
Kafka; its ``ProgressMonitor`` (``progress``), run by the timer, reports the lane's lag,
reads back records fetched but never delivered at a partition's end and exits on a stall.
Lag and stalls are measured against the group's committed offsets, not the fetch position.

Every record this app writes (dead letters, the manifest changelog) fits the same limit as
the change topics (``MAX_RECORD_BYTES``): the producer's ``max_request_size`` and the
topics' ``max.message.bytes`` are set alike, and a dead letter is cut down to fit, never
dropped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust

from indexer.dead_letters import DeadLetter
from stream.dead_letters.record import dead_letter_record
from stream.lanes import Lane, topic_for
from stream.producer import MAX_RECORD_BYTES
from stream.settings import StreamSettings
from stream.worker.lane import ChangeLane
from stream.worker.partition_reader import PartitionReader
from stream.worker.processor import ChangeBatchProcessor, exit_without_ack
from stream.worker.processor_slot import SharedBuild
from stream.worker.records import RawRecord
from stream.worker.settings import WorkerSettings

logger = logging.getLogger(__name__)

ProcessorFactory = Callable[
    [Callable[[DeadLetter], Awaitable[None]], Any],
    Awaitable[Mapping[Lane, ChangeBatchProcessor]],
]
LagReport = Callable[[str, int, int | None], None]


def lane_topics(settings: StreamSettings) -> dict[Lane, str]:
    """The topic of each lane; one lane when both names are the same topic."""
    if settings.backfill_topic == settings.changes_topic:
        return {Lane.LIVE: settings.changes_topic}
    return {lane: topic_for(lane, settings) for lane in Lane}


def create_worker_app(
    stream_settings: StreamSettings,
    worker_settings: WorkerSettings,
    processor_factory: ProcessorFactory,
    on_lag: LagReport | None = None,
    on_recovered: Callable[[int], None] | None = None,
) -> faust.App:
    """``processor_factory(send_dead_letter, manifests_table)`` builds each lane's
    processor once the app runs (models and clients are created then, not at import).
    ``on_lag(lane, partition, lag)`` gets each assigned partition's lag, and ``None`` once
    a partition is no longer assigned."""
    partitions = stream_settings.changes_partitions
    app = faust.App(
        worker_settings.app_id,
        broker=f"kafka://{stream_settings.kafka_bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_partitions=partitions,
        topic_replication_factor=stream_settings.replication_factor,
        topic_allow_declare=True,
        broker_session_timeout=worker_settings.session_timeout_s,
        broker_heartbeat_interval=worker_settings.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_request_size=MAX_RECORD_BYTES,  # Faust's default is 1,000,000 bytes
        table_standby_replicas=0,
        stream_wait_empty=False,
    )
    record_limit = {"max.message.bytes": str(MAX_RECORD_BYTES)}
    dead_letters = app.topic(
        stream_settings.dead_letter_topic,
        key_serializer="raw",
        value_serializer="raw",
        config=record_limit,
    )
    manifests = app.Table(
        "manifests",
        default=None,
        partitions=partitions,
        key_type=str,  # raw UTF-8 bytes on the changelog: the same bytes as the event key
        # The producer's partitioner puts a manifest in the partition of its document's
        # events (same key, same hash), whatever event of a batch is current.
        use_partitioner=True,
        extra_topic_configs=record_limit,  # a manifest of many chunks exceeds 1 MB
    )

    async def send_dead_letter(letter: DeadLetter) -> None:
        record = dead_letter_record(letter, MAX_RECORD_BYTES)
        delivery = await dead_letters.send(
            key=record.key, value=record.value, headers=record.headers
        )
        await delivery

    shared = SharedBuild(lambda: processor_factory(send_dead_letter, manifests))
    lanes: dict[Lane, ChangeLane] = {}
    for lane, topic in lane_topics(stream_settings).items():
        lanes[lane] = ChangeLane(
            app,
            topic,
            PartitionReader(stream_settings.kafka_bootstrap, app.conf.id, topic),
            batch_size=_batch_size(lane, worker_settings),
            stall_timeout_s=worker_settings.stall_timeout_s,
            exit_without_ack=exit_without_ack,
            on_lag=functools.partial(on_lag, lane.value) if on_lag else None,
            on_recovered=on_recovered,
        )
        _declare_agent(
            app,
            app.topic(
                topic,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=partitions,
            ),
            lanes[lane],
            functools.partial(shared.processor, lane),
            _batch_size(lane, worker_settings),
            worker_settings.batch_within_s,
            name=AGENT_NAMES[lane],
        )

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        for lane in lanes.values():
            lane.forget(args[0])

    @app.on_partitions_assigned.connect
    async def forget_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        for lane in lanes.values():
            lane.forget(args[0])  # restart from the group's offsets

    @app.on_before_shutdown.connect
    async def close_lanes(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        for lane in reversed(lanes.values()):  # the live lane's pipeline owns the store
            await lane.close()

    @app.timer(interval=worker_settings.lag_interval_s)  # type: ignore[untyped-decorator]
    async def watch_progress() -> None:
        for lane in lanes.values():
            try:
                await lane.monitor.check()
            except Exception as error:  # e.g. a rebalance took a partition away meanwhile
                logger.warning("progress check of %s skipped: %r", lane.topic, error)

    return app


AGENT_NAMES = {Lane.LIVE: "index-changes", Lane.BACKFILL: "index-backfill"}


def _batch_size(lane: Lane, settings: WorkerSettings) -> int:
    return settings.backfill_batch_size if lane is Lane.BACKFILL else settings.batch_size


def _declare_agent(
    app: faust.App,
    channel: Any,
    lane: ChangeLane,
    build: Callable[[], Awaitable[ChangeBatchProcessor]],
    batch_size: int,
    within_s: float,
    *,
    name: str,
) -> None:
    @app.agent(channel, name=name)
    async def index_lane(stream: Any) -> None:  # faust's StreamT lacks noack_take
        await lane.start(build)
        async for batch in stream.noack_take(batch_size, within=within_s):
            await lane.handle([raw_record(event) for event in batch])
            for event in batch:
                await stream.ack(event)


def raw_record(event: Any) -> RawRecord:
    message = event.message
    return RawRecord(
        key=message.key,
        value=message.value,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )
