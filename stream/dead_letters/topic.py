"""Kafka I/O for dead letters: read the whole topic, send replays to the backfill topic."""

from __future__ import annotations

from collections.abc import Sequence

from stream.dead_letters.selection import Replay, StoredLetter, parse_letter
from stream.lanes import Trigger, lane_for
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.worker.offsets import OffsetRange
from stream.worker.partition_reader import PartitionReader


async def read_dead_letters(
    bootstrap: str, topic: str, *, timeout_s: float = 30.0
) -> list[StoredLetter]:
    """Every record of ``topic`` up to its end when called, in partition and offset order.
    Read by a consumer of no group: nothing is committed, no one else is disturbed."""
    reader = PartitionReader(bootstrap, group_id="", topic=topic, timeout_s=timeout_s)
    try:
        partitions = await reader.partitions()
        starts = await reader.beginnings(partitions)
        ends = await reader.ends(partitions)
        ranges = [OffsetRange(p, starts[p], ends[p]) for p in partitions if ends[p] > starts[p]]
        records = await reader.read(ranges)
    finally:
        await reader.close()
    return [parse_letter(record.partition, record.offset, record.value) for record in records]


async def send_replays(settings: StreamSettings, replays: Sequence[Replay]) -> int:
    """Send each original event back through the project's producer, on the backfill lane
    (a replay is bulk work: it must not hold up live changes), keyed by document so that it
    lands in its document's partition; returns once Kafka acknowledged them all."""
    if not replays:
        return 0
    async with ChangeProducer.from_settings(settings) as producer:
        await producer.send_many(
            (replay.event for replay in replays), lane=lane_for(Trigger.DEAD_LETTER_REPLAY)
        )
    return len(replays)
