"""The Faust app: topics, the manifest table and the agent, declared plainly.

    mmrag.changes ──take_events(batch, within)──> ChangeBatchProcessor ──> Elasticsearch
                                                   │            └──> manifests table
                                                   └──> mmrag.changes.dlq

Events are acknowledged by hand only after the processor returns, i.e. after
Elasticsearch acknowledged the batch's writes (``noack_take``: plain ``take`` would also
acknowledge a batch interrupted by a shutdown or a rebalance, losing it). At-least-once,
and replays are harmless because every write is idempotent (content-addressed chunk ids,
versioned manifests).

Everything beside the declarations lives in a ``ChangeLane`` (``lane``): Faust itself can
skip a record after a restart or rebalance and commit past it, so its
``GapRecoveringHandler`` notices the hole in the offsets and reads the record back from
Kafka; its ``ProgressMonitor`` (``progress``), run by the timer, reports lag, reads back
records fetched but never delivered at a partition's end and exits on a stall. Lag and
stalls are measured against the group's committed offsets, not the fetch position.

Every record this app writes (dead letters, the manifest changelog) fits the same limit as
the change topic (``MAX_RECORD_BYTES``): the producer's ``max_request_size`` and the topics'
``max.message.bytes`` are set alike, and a dead letter is cut down to fit, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from indexer.dead_letters import DeadLetter
from stream.dead_letters.record import dead_letter_record
from stream.producer import MAX_RECORD_BYTES
from stream.settings import StreamSettings
from stream.worker.lane import ChangeLane
from stream.worker.partition_reader import PartitionReader
from stream.worker.processor import ChangeBatchProcessor, exit_without_ack
from stream.worker.records import RawRecord
from stream.worker.settings import WorkerSettings

logger = logging.getLogger(__name__)

ProcessorFactory = Callable[
    [Callable[[DeadLetter], Awaitable[None]], Any], Awaitable[ChangeBatchProcessor]
]


def create_worker_app(
    stream_settings: StreamSettings,
    worker_settings: WorkerSettings,
    processor_factory: ProcessorFactory,
    on_lag: Callable[[int, int | None], None] | None = None,
    on_recovered: Callable[[int], None] | None = None,
) -> faust.App:
    """``processor_factory(send_dead_letter, manifests_table)`` builds the processor once
    the app runs (models and clients are created then, not at import). ``on_lag`` gets
    each assigned partition's lag, and ``None`` once a partition is no longer assigned."""
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
    changes = app.topic(
        stream_settings.changes_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
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

    lane = ChangeLane(
        app,
        stream_settings.changes_topic,
        PartitionReader(
            stream_settings.kafka_bootstrap, app.conf.id, stream_settings.changes_topic
        ),
        batch_size=worker_settings.batch_size,
        stall_timeout_s=worker_settings.stall_timeout_s,
        exit_without_ack=exit_without_ack,
        on_lag=on_lag,
        on_recovered=on_recovered,
    )

    async def build_processor() -> ChangeBatchProcessor:
        return await processor_factory(send_dead_letter, manifests)

    @app.agent(changes, name="index-changes")
    async def index_changes(stream: Any) -> None:  # faust's StreamT lacks noack_take
        await lane.start(build_processor)
        async for batch in stream.noack_take(
            worker_settings.batch_size, within=worker_settings.batch_within_s
        ):
            await lane.handle([raw_record(event) for event in batch])
            for event in batch:
                await stream.ack(event)

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        lane.forget(args[0])

    @app.on_partitions_assigned.connect
    async def forget_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        lane.forget(args[0])  # restart from the group's offsets

    @app.on_before_shutdown.connect
    async def close_lane(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await lane.close()

    @app.timer(interval=worker_settings.lag_interval_s)  # type: ignore[untyped-decorator]
    async def watch_progress() -> None:
        try:
            await lane.monitor.check()
        except Exception as error:  # e.g. a rebalance took a partition away meanwhile
            logger.warning("progress check skipped: %r", error)

    return app


def raw_record(event: Any) -> RawRecord:
    message = event.message
    return RawRecord(
        key=message.key,
        value=message.value,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )
