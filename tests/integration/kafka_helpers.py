"""Reading what landed on a topic, for assertions against the real broker."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer

from stream.settings import StreamSettings
from stream.topics import ensure_topics


async def create_test_topics(bootstrap: str, topic: str, partitions: int = 3) -> StreamSettings:
    settings = StreamSettings(
        kafka_bootstrap=bootstrap,
        changes_topic=topic,
        backfill_topic=f"{topic}.backfill",
        dead_letter_topic=f"{topic}.dlq",
        changes_partitions=partitions,
    )
    await ensure_topics(settings)
    return settings


async def read_records(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """Every record of the topic from the beginning, as parsed JSON with ``_key``,
    ``_partition`` and ``_offset`` added. Stops ``settle`` after ``expect`` records arrived
    (so that extra records would still be seen), or at the timeout."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )  # no group: every partition, from the beginning
    await consumer.start()
    try:
        records: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        settle_until: float | None = None
        while loop.time() < (settle_until or deadline):
            batches = await consumer.getmany(timeout_ms=200)
            for partition_records in batches.values():
                for record in partition_records:
                    value = json.loads(record.value) if record.value is not None else {}
                    value["_key"] = record.key.decode() if record.key else None
                    value["_partition"] = record.partition
                    value["_offset"] = record.offset
                    records.append(value)
            if expect is not None and len(records) >= expect and settle_until is None:
                settle_until = loop.time() + 1.0
        records.sort(key=lambda r: (r["_partition"], r["_offset"]))
        return records
    finally:
        await consumer.stop()


def by_document(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by doc_id in the order they sit in their partition."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["doc_id"], []).append(record)
    return grouped
