"""Reading back what Faust skipped, against the real broker: committed offsets of a
group, exact offset ranges (also across transaction markers), and the handler that puts
skipped records back into a batch in offset order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from stream.worker.gap_recovery import GapRecoveringHandler
from stream.worker.offsets import OffsetRange
from stream.worker.partition_reader import PartitionReader, ReadBackError
from stream.worker.records import RawRecord
from tests.integration.kafka_helpers import create_test_topics


async def produce(bootstrap: str, topic: str, partition: int, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for number in range(count):
            await producer.send_and_wait(
                topic, f"p{partition}-{number}".encode(), key=b"k", partition=partition
            )
    finally:
        await producer.stop()


async def commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, partition) for partition in offsets])
        await consumer.commit(
            {TopicPartition(topic, p): OffsetAndMetadata(o, "") for p, o in offsets.items()}
        )
    finally:
        await consumer.stop()


class Recorder:
    """Stands in for the batch processor: remembers each batch it is handed, in order."""

    def __init__(self) -> None:
        self.batches: list[list[RawRecord]] = []

    async def __call__(self, records: list[RawRecord]) -> None:
        self.batches.append(records)

    @property
    def records(self) -> list[RawRecord]:
        return [record for batch in self.batches for record in batch]


def offsets(records: list[RawRecord]) -> list[tuple[int, int]]:
    return [(record.partition, record.offset) for record in records]


@pytest.fixture
def group(topic_name: str) -> str:
    return f"{topic_name}.group"


@pytest.fixture
async def reader(
    kafka_bootstrap: str, topic_name: str, group: str
) -> AsyncIterator[PartitionReader]:
    reader = PartitionReader(kafka_bootstrap, group, topic_name, timeout_s=20)
    yield reader
    await reader.close()


async def test_the_groups_committed_offsets_are_read_per_partition(
    kafka_bootstrap: str, topic_name: str, group: str, reader: PartitionReader
) -> None:
    await create_test_topics(kafka_bootstrap, topic_name, partitions=2)
    await produce(kafka_bootstrap, topic_name, 0, 8)
    await commit(kafka_bootstrap, group, topic_name, {0: 6})
    assert await reader.committed([0, 1]) == {0: 6, 1: None}
    assert await reader.committed([]) == {}


async def test_offset_ranges_are_read_back_exactly_even_across_transaction_markers(
    kafka_bootstrap: str, topic_name: str, reader: PartitionReader
) -> None:
    await create_test_topics(kafka_bootstrap, topic_name, partitions=2)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"{topic_name}.tx"
    )
    await producer.start()
    try:
        for number in range(4):  # each commit marker takes an offset: 0 1 M 3 4 M 6 7 M …
            async with producer.transaction():
                for half in range(2):
                    await producer.send_and_wait(
                        topic_name, f"{number}.{half}".encode(), partition=0
                    )
    finally:
        await producer.stop()
    await produce(kafka_bootstrap, topic_name, 1, 5)
    read = await reader.read([OffsetRange(0, 1, 7), OffsetRange(1, 3, 5)])
    assert offsets(read) == [(0, 1), (0, 3), (0, 4), (0, 6), (1, 3), (1, 4)]
    assert [record.value for record in read[:4]] == [b"0.1", b"1.0", b"1.1", b"2.0"]
    assert await reader.read([OffsetRange(0, 2, 3)]) == []  # only a marker there
    assert offsets(await reader.read([OffsetRange(1, 0, 1)])) == [(1, 0)]  # reused


async def test_records_skipped_before_and_inside_a_batch_are_processed_with_it_in_order(
    kafka_bootstrap: str, topic_name: str, group: str, reader: PartitionReader
) -> None:
    await create_test_topics(kafka_bootstrap, topic_name, partitions=2)
    await produce(kafka_bootstrap, topic_name, 0, 14)
    await produce(kafka_bootstrap, topic_name, 1, 3)
    await commit(kafka_bootstrap, group, topic_name, {0: 3})
    everything = {
        (r.partition, r.offset): r
        for r in await reader.read([OffsetRange(0, 0, 14), OffsetRange(1, 0, 3)])
    }
    processed = Recorder()
    recovered: list[int] = []
    handler = GapRecoveringHandler(reader, processed, on_recovered=recovered.append)

    # Faust delivers 5.. although 3 was committed: 3 and 4 were skipped; 7 too.
    delivered = [everything[0, o] for o in (5, 6, 8, 9)] + [everything[1, 0]]
    handled = await handler.handle(delivered)
    assert offsets(handled) == [(0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (0, 8), (0, 9), (1, 0)]
    assert handled[0].value == b"p0-3"
    assert processed.batches == [handled]
    assert recovered == [3]

    handled = await handler.handle([everything[0, 12], everything[1, 1]])  # 10, 11 gone
    assert offsets(handled) == [(0, 10), (0, 11), (0, 12), (1, 1)]

    redelivered = [everything[0, 11], everything[0, 12], everything[0, 13]]
    assert await handler.handle(redelivered) == redelivered  # replays are no gap
    assert handler.ledger.replayed(redelivered) == redelivered
    assert recovered == [3, 2]
    assert handler.ledger.progress(0, None) == 14
    assert [len(records) for records in processed.batches] == [8, 4, 3]


async def test_a_large_read_back_is_processed_a_batch_at_a_time_in_order(
    kafka_bootstrap: str, topic_name: str, group: str, reader: PartitionReader
) -> None:
    await create_test_topics(kafka_bootstrap, topic_name, partitions=1)
    await produce(kafka_bootstrap, topic_name, 0, 12)
    await commit(kafka_bootstrap, group, topic_name, {0: 0})
    processed = Recorder()
    handler = GapRecoveringHandler(reader, processed, max_batch=5)

    await handler.handle(await reader.read([OffsetRange(0, 11, 12)]))  # 0..10 were skipped
    assert [[r.offset for r in records] for records in processed.batches] == [
        [0, 1, 2, 3, 4],
        [5, 6, 7, 8, 9],
        [10, 11],
    ]


async def test_a_group_that_never_committed_is_expected_from_the_logs_beginning(
    kafka_bootstrap: str, topic_name: str, reader: PartitionReader
) -> None:
    await create_test_topics(kafka_bootstrap, topic_name, partitions=1)
    await produce(kafka_bootstrap, topic_name, 0, 6)
    processed = Recorder()
    handler = GapRecoveringHandler(reader, processed)

    assert await reader.beginnings([0]) == {0: 0}
    await handler.handle(await reader.read([OffsetRange(0, 2, 6)]))  # 0 and 1 skipped
    assert offsets(processed.records) == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]


async def test_a_tail_fetched_but_never_delivered_is_read_back_once(
    kafka_bootstrap: str, topic_name: str, reader: PartitionReader
) -> None:
    await create_test_topics(kafka_bootstrap, topic_name, partitions=1)
    await produce(kafka_bootstrap, topic_name, 0, 10)
    processed = Recorder()
    handler = GapRecoveringHandler(reader, processed)

    assert await handler.read_back_tail(0, committed=8, end=10) == 2
    assert offsets(processed.records) == [(0, 8), (0, 9)]
    assert handler.ledger.progress(0, committed=8) == 10
    assert await handler.read_back_tail(0, committed=8, end=10) == 0
    assert len(processed.records) == 2


async def test_an_unreachable_broker_is_a_read_back_error_not_a_hang() -> None:
    reader = PartitionReader("127.0.0.1:1", "group", "topic", timeout_s=3)
    try:
        with pytest.raises(ReadBackError):
            await reader.committed([0])
        with pytest.raises(ReadBackError):
            await reader.read([OffsetRange(0, 0, 1)])
        with pytest.raises(ReadBackError):
            await reader.beginnings([0])
    finally:
        await reader.close()
