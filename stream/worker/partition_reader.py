"""Kafka reads beside Faust: a group's committed offsets, a topic's partitions and log
offsets, and the records of given offset ranges (read by a consumer of no group, assigned
and seeked by hand). The worker reads back what Faust skipped with it; ``mmrag dlq``
reads the dead-letter topic with it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from indexer.change_log.offsets import (
    beginning_offsets,
    committed_offsets,
    end_offsets,
    topic_partitions,
)
from stream.worker.offsets import OffsetRange
from stream.worker.records import RawRecord


class ReadBackError(RuntimeError):
    """Offsets or records could not be read in time (the broker is away)."""


class PartitionReader:
    def __init__(
        self, bootstrap: str, group_id: str, topic: str, *, timeout_s: float = 30.0
    ) -> None:
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topic = topic
        self._timeout_s = timeout_s
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()  # one read-back at a time on the range consumer
        self._admin_lock = asyncio.Lock()  # the timer and a batch may both need it first

    async def committed(self, partitions: Iterable[int]) -> dict[int, int | None]:
        """The group's committed offset of each partition (None where it has none)."""
        wanted = [TopicPartition(self._topic, partition) for partition in partitions]
        if not wanted:
            return {}
        try:
            admin = await self._admin_client()
            offsets = await asyncio.wait_for(
                committed_offsets(admin, self._group_id, wanted), self._timeout_s
            )
        except (KafkaError, TimeoutError) as error:
            raise ReadBackError(f"committed offsets of {self._group_id}: {error!r}") from error
        return {tp.partition: offset for tp, offset in offsets.items()}

    async def beginnings(self, partitions: Iterable[int]) -> dict[int, int]:
        """Each partition's first offset still in the log (where a new group starts)."""
        return await self._log_offsets(partitions, "beginning")

    async def ends(self, partitions: Iterable[int]) -> dict[int, int]:
        """Each partition's high watermark (the offset the next record will get)."""
        return await self._log_offsets(partitions, "end")

    async def partitions(self) -> list[int]:
        """The topic's partitions (none if the topic does not exist; it is not created)."""
        try:
            admin = await self._admin_client()
            found = await asyncio.wait_for(topic_partitions(admin, [self._topic]), self._timeout_s)
        except (KafkaError, TimeoutError) as error:
            raise ReadBackError(f"partitions of {self._topic}: {error!r}") from error
        return found[self._topic]

    async def _log_offsets(self, partitions: Iterable[int], which: str) -> dict[int, int]:
        wanted = [TopicPartition(self._topic, partition) for partition in partitions]
        if not wanted:
            return {}
        async with self._lock:
            try:
                consumer = await self._range_consumer()
                lookup = (
                    beginning_offsets(consumer, wanted)
                    if which == "beginning"
                    else end_offsets(consumer, wanted)
                )
                offsets = await asyncio.wait_for(lookup, self._timeout_s)
            except (KafkaError, TimeoutError) as error:
                raise ReadBackError(f"{which} offsets of {self._topic}: {error!r}") from error
        return {tp.partition: offset for tp, offset in offsets.items()}

    async def read(self, ranges: Sequence[OffsetRange]) -> list[RawRecord]:
        """Every record in ``ranges`` that Kafka still has, in offset order per partition."""
        if not ranges:
            return []
        async with self._lock:
            try:
                consumer = await self._range_consumer()
            except KafkaError as error:
                raise ReadBackError(f"reading back {ranges}: {error!r}") from error
            ends: dict[TopicPartition, int] = {}
            starts: dict[TopicPartition, int] = {}
            for offset_range in ranges:
                tp = TopicPartition(self._topic, offset_range.partition)
                starts[tp] = min(starts.get(tp, offset_range.start), offset_range.start)
                ends[tp] = max(ends.get(tp, offset_range.end), offset_range.end)
            consumer.assign(list(ends))
            for tp, start in starts.items():
                consumer.seek(tp, start)
            records = await self._read_until(consumer, ends)
        return [record for record in records if _inside(record, ranges)]

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def _read_until(
        self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> list[RawRecord]:
        records: list[RawRecord] = []
        pending = dict(ends)
        deadline = time.monotonic() + self._timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise ReadBackError(f"could not read back {pending} in {self._timeout_s:.0f}s")
            fetched = await consumer.getmany(*pending, timeout_ms=500)
            for tp, messages in fetched.items():
                records.extend(
                    RawRecord(m.key, m.value, m.topic, m.partition, m.offset)
                    for m in messages
                    if m.offset < ends[tp]
                )
            for tp in list(pending):
                if await consumer.position(tp) >= pending[tp]:
                    del pending[tp]
        return sorted(records, key=lambda record: (record.partition, record.offset))

    async def _admin_client(self) -> AIOKafkaAdminClient:
        async with self._admin_lock:
            if self._admin is None:
                admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
                try:
                    await admin.start()
                except BaseException:
                    await admin.close()
                    raise
                self._admin = admin
            return self._admin

    async def _range_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer


def _inside(record: RawRecord, ranges: Sequence[OffsetRange]) -> bool:
    return any(r.partition == record.partition and r.start <= record.offset < r.end for r in ranges)
