"""The Faust app: topics, the manifest table and the agent, declared plainly.

    mmrag.changes ──take_events(batch, within)──> ChangeBatchProcessor ──> Elasticsearch
                                                   │            └──> manifests table
                                                   └──> mmrag.changes.dlq

Events are acknowledged by hand only after the processor returns, i.e. after
Elasticsearch acknowledged the batch's writes (``noack_take``: plain ``take`` would also
acknowledge a batch interrupted by a shutdown or a rebalance, losing it). At-least-once,
and replays are harmless because every write is idempotent (content-addressed chunk ids,
versioned manifests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from indexer.dead_letters import DeadLetter
from stream.settings import StreamSettings
from stream.worker.processor import ChangeBatchProcessor, RawRecord, exit_without_ack
from stream.worker.settings import WorkerSettings
from stream.worker.stall import StallDetector

logger = logging.getLogger(__name__)

ProcessorFactory = Callable[
    [Callable[[DeadLetter], Awaitable[None]], Any], Awaitable[ChangeBatchProcessor]
]


def create_worker_app(
    stream_settings: StreamSettings,
    worker_settings: WorkerSettings,
    processor_factory: ProcessorFactory,
    on_lag: Callable[[int, int], None] | None = None,
) -> faust.App:
    """``processor_factory(send_dead_letter, manifests_table)`` builds the processor once
    the app runs (models and clients are created then, not at import)."""
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
    dead_letters = app.topic(
        stream_settings.dead_letter_topic, key_serializer="raw", value_serializer="raw"
    )
    manifests = app.Table(
        "manifests",
        default=None,
        partitions=partitions,
        key_type=str,  # raw UTF-8 bytes on the changelog: the same bytes as the event key
        # The producer's partitioner puts a manifest in the partition of its document's
        # events (same key, same hash), whatever event of a batch is current.
        use_partitioner=True,
    )

    async def send_dead_letter(letter: DeadLetter) -> None:
        key = (letter.doc_id or letter.uri or "").encode() or None
        delivery = await dead_letters.send(key=key, value=letter.to_json_bytes())
        await delivery

    holder: dict[str, ChangeBatchProcessor] = {}
    busy = asyncio.Event()  # a batch is being processed: a long one is not a stall

    @app.agent(changes, name="index-changes")
    async def index_changes(stream: Any) -> None:  # faust's StreamT lacks noack_take
        if "processor" not in holder:
            holder["processor"] = await processor_factory(send_dead_letter, manifests)
        processor = holder["processor"]
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
            busy.set()
            try:
                await processor.handle(records)
            finally:
                busy.clear()
            for event in batch:
                await stream.ack(event)

    @app.on_before_shutdown.connect
    async def close_processor(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        if "processor" in holder:
            await holder.pop("processor").close()

    stalls = StallDetector(worker_settings.stall_timeout_s)

    @app.timer(interval=worker_settings.lag_interval_s)  # type: ignore[untyped-decorator]
    async def watch_progress() -> None:
        consumer = app.consumer
        assigned = {tp for tp in consumer.assignment() if tp.topic == stream_settings.changes_topic}
        stalls.forget_all_but({tp.partition for tp in assigned})
        for partition in assigned:
            position = await consumer.position(partition)
            highwater = consumer.highwater(partition)
            if position is None or highwater is None:
                continue
            lag = max(highwater - position, 0)
            if on_lag is not None:
                on_lag(partition.partition, lag)
            if busy.is_set():
                stalls.forget_all_but(set())
                continue
            if stalls.stalled(partition.partition, position, lag, time.monotonic()):
                logger.critical(
                    "consumer_stalled partition=%d position=%d lag=%d for=%.0fs: exiting so "
                    "that a restart rejoins the group and Kafka redelivers",
                    partition.partition,
                    position,
                    lag,
                    worker_settings.stall_timeout_s,
                )
                exit_without_ack(75)

    return app
