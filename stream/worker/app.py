"""The Faust app: topics, the manifest table and the agent, declared plainly.

    mmrag.changes ──take_events(batch, within)──> ChangeBatchProcessor ──> Elasticsearch
                                                   │            └──> manifests table
                                                   └──> mmrag.changes.dlq

Events are acknowledged by hand only after the processor returns, i.e. after
Elasticsearch acknowledged the batch's writes (``noack_take``: plain ``take`` would also
acknowledge a batch interrupted by a shutdown or a rebalance, losing it). At-least-once,
and replays are harmless because every write is idempotent (content-addressed chunk ids,
versioned manifests).

Faust itself can skip a record after a restart or rebalance and commit past it; the
``GapRecoveringHandler`` notices the hole in the offsets and reads the record back from
Kafka, and the timer reads back records fetched but never delivered at a partition's end.
Lag and stalls are measured against the group's committed offsets, not the fetch position.

Every record this app writes (dead letters, the manifest changelog) fits the same limit as
the change topic (``MAX_RECORD_BYTES``): the producer's ``max_request_size`` and the topics'
``max.message.bytes`` are set alike, and a dead letter is cut down to fit, never dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from indexer.dead_letters import DeadLetter
from stream.dead_letters.record import dead_letter_record
from stream.producer import MAX_RECORD_BYTES
from stream.settings import StreamSettings
from stream.worker.gap_recovery import GapRecoveringHandler
from stream.worker.partition_reader import PartitionReader, ReadBackError
from stream.worker.processor import ChangeBatchProcessor, RawRecord, exit_without_ack
from stream.worker.settings import WorkerSettings
from stream.worker.stall import StallDetector, TailWatch

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

    holder: dict[str, ChangeBatchProcessor] = {}
    tails = TailWatch()
    reader = PartitionReader(
        stream_settings.kafka_bootstrap, app.conf.id, stream_settings.changes_topic
    )

    async def process(records: list[RawRecord]) -> None:
        await holder["processor"].handle(records)

    handler = GapRecoveringHandler(
        reader,
        process,
        on_recovered=on_recovered,
        on_processed=tails.forget,
        max_batch=worker_settings.batch_size,
    )

    @app.agent(changes, name="index-changes")
    async def index_changes(stream: Any) -> None:  # faust's StreamT lacks noack_take
        async with handler.lock:  # the timer reads back nothing before the processor is up
            if "processor" not in holder:
                holder["processor"] = await processor_factory(send_dead_letter, manifests)
        async for batch in stream.noack_take(
            worker_settings.batch_size, within=worker_settings.batch_within_s
        ):
            records = [
                RawRecord(
                    key=event.message.key,
                    value=event.message.value,
                    topic=event.message.topic,
                    partition=event.message.partition,
                    offset=event.message.offset,
                )
                for event in batch
            ]
            try:
                await handler.handle(records)
            except ReadBackError as error:
                logger.critical("%s: exiting without acknowledging the batch", error)
                exit_without_ack(75)
            for event in batch:
                await stream.ack(event)

    def changes_partitions(partitions: set[Any]) -> set[int]:
        return {tp.partition for tp in partitions if tp.topic == stream_settings.changes_topic}

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        handler.ledger.forget(changes_partitions(args[0]))

    @app.on_partitions_assigned.connect
    async def forget_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        handler.ledger.forget(changes_partitions(args[0]))  # restart from the group's offsets

    @app.on_before_shutdown.connect
    async def close_processor(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        if "processor" in holder:
            await holder.pop("processor").close()
        await reader.close()

    stalls = StallDetector(worker_settings.stall_timeout_s)

    def assigned_changes() -> set[Any]:
        return {tp for tp in app.consumer.assignment() if tp.topic == stream_settings.changes_topic}

    @app.timer(interval=worker_settings.lag_interval_s)  # type: ignore[untyped-decorator]
    async def watch_progress() -> None:
        try:
            await check_progress()
        except Exception as error:  # e.g. a rebalance took a partition away meanwhile
            logger.warning("progress check skipped: %r", error)

    reported: set[int] = set()

    async def check_progress() -> None:
        assigned = assigned_changes()
        stalls.forget_all_but({tp.partition for tp in assigned})
        for partition in reported - {tp.partition for tp in assigned}:
            reported.discard(partition)
            if on_lag is not None:
                on_lag(partition, None)  # not ours any more: no lag to report
        if not assigned:
            return
        try:
            committed = await reader.committed(tp.partition for tp in assigned)
        except ReadBackError as error:  # the broker is away: nothing to measure against
            logger.warning("committed offsets unavailable: %s", error)
            return
        settled = "processor" in holder and not (app.rebalancing or app.in_recovery)
        for tp in sorted(assigned & assigned_changes()):  # not what went while Kafka answered
            highwater = app.consumer.highwater(tp)
            if highwater is None:
                continue
            progress = handler.ledger.progress(tp.partition, committed.get(tp.partition)) or 0
            lag = max(highwater - progress, 0)
            if on_lag is not None:
                on_lag(tp.partition, lag)
                reported.add(tp.partition)
            if handler.busy:
                stalls.forget_all_but(set())
                tails.forget()
                continue
            fetched = await app.consumer.position(tp)
            if settled and tails.unmoved(tp.partition, progress, highwater, fetched):
                try:
                    await handler.read_back_tail(
                        tp.partition, committed.get(tp.partition), highwater
                    )
                except ReadBackError as error:
                    logger.error("%s", error)
                continue
            if stalls.stalled(tp.partition, progress, lag, time.monotonic()):
                logger.critical(
                    "consumer_stalled partition=%d processed_to=%d lag=%d for=%.0fs: exiting "
                    "so that a restart rejoins the group and Kafka redelivers",
                    tp.partition,
                    progress,
                    lag,
                    worker_settings.stall_timeout_s,
                )
                exit_without_ack(75)

    return app
