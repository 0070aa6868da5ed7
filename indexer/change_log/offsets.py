"""Reading a consumer group's offsets on the change topics from Kafka: the one place both
the worker (``stream.worker.partition_reader``) and the API's ``/health`` do it.

The functions take started aiokafka clients and add no timeout of their own (callers bound
them with ``asyncio.wait_for``); ``GroupOffsetReader`` opens and closes its own clients for
a one-shot reading. Kafka's errors (``aiokafka.errors.KafkaError``) pass through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from indexer.change_log.lag import PartitionOffsets, combine

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient


async def topic_partitions(
    admin: AIOKafkaAdminClient, topics: Sequence[str]
) -> dict[str, list[int]]:
    """Each topic's partition numbers; a topic that does not exist has none. Missing topics
    are never described: that would auto-create them on brokers that allow it."""
    found: dict[str, list[int]] = {topic: [] for topic in topics}
    existing = set(await admin.list_topics())
    present = [topic for topic in topics if topic in existing]
    if not present:
        return found
    for described in await admin.describe_topics(present):
        name = described.get("topic")
        if name in found and described.get("error_code") == 0:
            found[name] = sorted(
                int(partition["partition"]) for partition in described.get("partitions", [])
            )
    return found


async def committed_offsets(
    admin: AIOKafkaAdminClient, group: str, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int | None]:
    """The group's committed offset of each partition (None where it has none)."""
    wanted = list(partitions)
    if not wanted:
        return {}
    answered = await admin.list_consumer_group_offsets(group, partitions=wanted)
    found: dict[TopicPartition, int | None] = dict.fromkeys(wanted)
    for tp, meta in answered.items():
        if tp in found and meta.offset >= 0:
            found[tp] = meta.offset
    return found


async def beginning_offsets(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """Each partition's first offset still in the log (where a new group starts)."""
    wanted = list(partitions)
    return dict(await consumer.beginning_offsets(wanted)) if wanted else {}


async def end_offsets(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """Each partition's high watermark (the offset the next record will get)."""
    wanted = list(partitions)
    return dict(await consumer.end_offsets(wanted)) if wanted else {}


async def group_offsets(
    admin: AIOKafkaAdminClient,
    consumer: AIOKafkaConsumer,
    group: str,
    topics: Sequence[str],
) -> dict[str, dict[int, PartitionOffsets]]:
    """Committed, beginning and end offsets of ``group`` on every partition of each topic,
    per topic (a missing topic maps to no partitions)."""
    from aiokafka import TopicPartition

    layout = await topic_partitions(admin, topics)
    wanted = [TopicPartition(topic, number) for topic in topics for number in layout[topic]]
    committed = await committed_offsets(admin, group, wanted)
    ends = await end_offsets(consumer, wanted)
    beginnings = await beginning_offsets(consumer, wanted)
    return {
        topic: combine(
            {tp.partition: offset for tp, offset in ends.items() if tp.topic == topic},
            {tp.partition: offset for tp, offset in committed.items() if tp.topic == topic},
            {tp.partition: offset for tp, offset in beginnings.items() if tp.topic == topic},
        )
        for topic in topics
    }


class GroupOffsetReader:
    """A group's offsets on given topics, through its own admin client and group-less
    consumer (opened on enter, closed on exit)::

        async with GroupOffsetReader(bootstrap, group, request_timeout_s=2) as reader:
            offsets = await reader.read([changes_topic, backfill_topic])
    """

    def __init__(self, bootstrap: str, group: str, *, request_timeout_s: float) -> None:
        self._bootstrap = bootstrap
        self._group = group
        self._timeout_ms = max(1, int(request_timeout_s * 1000))
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> GroupOffsetReader:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, request_timeout_ms=self._timeout_ms
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            request_timeout_ms=self._timeout_ms,
        )
        try:
            await self._admin.start()
            await self._consumer.start()
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close()

    async def read(self, topics: Sequence[str]) -> dict[str, dict[int, PartitionOffsets]]:
        if self._admin is None or self._consumer is None:
            raise RuntimeError("GroupOffsetReader.read outside `async with`")
        return await group_offsets(self._admin, self._consumer, self._group, topics)

    async def _close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
            self._admin = None
