"""``GET /health``: Elasticsearch's cluster status, the models, and the indexer's lag.

The lag is what the worker's consumer group has not committed yet on the change topic,
summed over partitions: ``end offset − committed offset`` (or ``− beginning offset`` for
a partition the group never committed). It is read with aiokafka's admin client and a
plain consumer, best effort: bounded by a short timeout, ``None`` when Kafka does not
answer, and cached for a few seconds so that polling ``/health`` does not load Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from elasticsearch import AsyncElasticsearch

logger = logging.getLogger(__name__)


def consumer_lag(
    end_offsets: Mapping[int, int],
    committed: Mapping[int, int],
    beginning_offsets: Mapping[int, int],
) -> int:
    """Records not yet committed by the group, over every partition (pure)."""
    total = 0
    for partition, end in end_offsets.items():
        start = committed.get(partition, beginning_offsets.get(partition, 0))
        total += max(end - start, 0)
    return total


async def elasticsearch_status(client: AsyncElasticsearch, timeout_s: float = 2.0) -> str:
    """``green``/``yellow``/``red``, or ``unreachable: …``."""
    try:
        response = await asyncio.wait_for(
            client.cluster.health(timeout=f"{max(1, int(timeout_s))}s"), timeout_s + 0.5
        )
    except Exception as error:  # health must answer whatever is wrong
        return f"unreachable: {type(error).__name__}"
    return str(response["status"])


class KafkaLagProbe:
    def __init__(
        self, bootstrap: str, topic: str, group: str, *, timeout_s: float, cache_s: float
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._group = group
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._value: int | None = None
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def lag(self) -> int | None:
        async with self._lock:
            if time.monotonic() - self._read_at < self._cache_s:
                return self._value
            try:
                self._value = await asyncio.wait_for(self._measure(), self._timeout_s)
            except Exception as error:  # best effort: Kafka down or slow
                logger.info("kafka_lag_unavailable error=%r", error)
                self._value = None
            self._read_at = time.monotonic()
            return self._value

    async def _measure(self) -> int | None:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        timeout_ms = int(self._timeout_s * 1000)
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, request_timeout_ms=timeout_ms
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            request_timeout_ms=timeout_ms,
        )
        try:
            await admin.start()
            await consumer.start()
            # Describing a missing topic would auto-create it on brokers that allow that
            # (with the broker's default partitions): look it up in the full list first.
            if self._topic not in await admin.list_topics():
                return None
            described = await admin.describe_topics([self._topic])
            numbers = [
                int(partition["partition"])
                for topic in described
                if topic.get("topic") == self._topic and topic.get("error_code") == 0
                for partition in topic.get("partitions", [])
            ]
            if not numbers:
                return None  # no such topic (yet)
            partitions = [TopicPartition(self._topic, number) for number in sorted(numbers)]
            offsets = await admin.list_consumer_group_offsets(self._group, partitions=partitions)
            ends = await consumer.end_offsets(partitions)
            beginnings = await consumer.beginning_offsets(partitions)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await admin.close()
        committed = {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        return consumer_lag(
            {tp.partition: end for tp, end in ends.items()},
            committed,
            {tp.partition: start for tp, start in beginnings.items()},
        )
