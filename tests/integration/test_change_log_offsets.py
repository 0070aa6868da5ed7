"""indexer.change_log against the real broker: a group's committed, beginning and end
offsets per topic and partition, over the live and backfill topics at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from indexer.change_log import GroupOffsetReader, PartitionOffsets, total_lag
from stream.settings import StreamSettings
from tests.integration.conftest import delete_test_topics
from tests.integration.kafka_helpers import create_test_topics


@pytest.fixture
async def topics(
    kafka_bootstrap: str, topic_name: str, unique_name: str
) -> AsyncIterator[StreamSettings]:
    settings = await create_test_topics(kafka_bootstrap, topic_name, partitions=2)
    yield settings
    await delete_test_topics(kafka_bootstrap, unique_name)


async def _produce(bootstrap: str, topic: str, partitions: list[int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition in partitions:
            await producer.send_and_wait(topic, b"{}", key=b"k", partition=partition)
    finally:
        await producer.stop()


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    # No auto-commit: stopping would otherwise commit the fetched position over ours.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
    finally:
        await consumer.stop()


async def test_offsets_per_topic_and_partition_for_both_change_topics(
    kafka_bootstrap: str, topics: StreamSettings, unique_name: str
) -> None:
    live, backfill = topics.change_topics
    group = f"group-{unique_name}"
    await _produce(kafka_bootstrap, live, [0, 0, 0, 1])
    await _produce(kafka_bootstrap, backfill, [1, 1])
    await _commit(kafka_bootstrap, group, {TopicPartition(live, 0): 2})
    missing = f"{live}.never-created"

    async with GroupOffsetReader(kafka_bootstrap, group, request_timeout_s=15) as reader:
        offsets = await reader.read([live, backfill, missing])

    assert offsets == {
        live: {
            0: PartitionOffsets(committed=2, beginning=0, end=3),
            1: PartitionOffsets(committed=None, beginning=0, end=1),
        },
        backfill: {
            0: PartitionOffsets(committed=None, beginning=0, end=0),
            1: PartitionOffsets(committed=None, beginning=0, end=2),
        },
        missing: {},
    }
    assert total_lag(offsets) == 1 + 1 + 0 + 2


async def test_a_missing_topic_is_not_created_by_reading_it(
    kafka_bootstrap: str, unique_name: str
) -> None:
    missing = f"test.{unique_name}.missing"
    async with GroupOffsetReader(kafka_bootstrap, "g", request_timeout_s=15) as reader:
        assert await reader.read([missing]) == {missing: {}}
        assert await reader.read([missing]) == {missing: {}}
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap)
    await consumer.start()
    try:
        assert missing not in await consumer.topics()
    finally:
        await consumer.stop()
