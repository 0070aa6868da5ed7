"""The foundation's promise: a real broker and a real node answer real clients."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from elasticsearch import AsyncElasticsearch

PARTITIONS = 3


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]
        )
    finally:
        await admin.close()


async def _drain(consumer: AIOKafkaConsumer, seconds: float) -> list[tuple[str, int]]:
    received: list[tuple[str, int]] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        batches = await consumer.getmany(timeout_ms=300)
        for records in batches.values():
            received.extend((r.key.decode(), int(r.value)) for r in records)
        await consumer.commit()
    return received


async def test_consumer_group_splits_partitions_and_keeps_key_order(
    kafka_bootstrap: str, topic_name: str, unique_name: str
) -> None:
    await _create_topic(kafka_bootstrap, topic_name)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    sent: dict[str, list[int]] = defaultdict(list)
    try:
        for sequence in range(300):
            key = f"doc-{sequence % 12}"
            sent[key].append(sequence)
            await producer.send(topic_name, key=key.encode(), value=str(sequence).encode())
        await producer.flush()
    finally:
        await producer.stop()

    group = f"test-group-{unique_name}"
    consumers = [
        AIOKafkaConsumer(
            topic_name,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        for _ in range(2)
    ]
    await asyncio.gather(*(consumer.start() for consumer in consumers))
    try:
        results = await asyncio.gather(*(_drain(consumer, 8.0) for consumer in consumers))
        assignments = [consumer.assignment() for consumer in consumers]
    finally:
        await asyncio.gather(*(consumer.stop() for consumer in consumers))

    assert all(assignments), "both group members should own partitions"
    owned = [p.partition for a in assignments for p in a]
    assert sorted(owned) == list(range(PARTITIONS))
    received: dict[str, list[int]] = defaultdict(list)
    for key, value in (item for result in results for item in result):
        received[key].append(value)
    assert received == sent  # every record exactly once, in order per key

    late = AIOKafkaConsumer(
        topic_name,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await late.start()
    try:
        assert await _drain(late, 3.0) == []  # committed offsets are honoured
    finally:
        await late.stop()


async def test_dense_vectors_answer_knn_with_filter(
    es_client: AsyncElasticsearch, index_name: str
) -> None:
    dimensions = 16
    await es_client.indices.create(
        index=index_name,
        mappings={
            "properties": {
                "text": {"type": "text"},
                "group": {"type": "keyword"},
                "vector": {
                    "type": "dense_vector",
                    "dims": dimensions,
                    "index": True,
                    "similarity": "cosine",
                    "index_options": {"type": "int8_hnsw", "m": 16, "ef_construction": 100},
                },
            }
        },
    )
    generator = random.Random(7)
    vectors = {f"v{n}": [generator.gauss(0, 1) for _ in range(dimensions)] for n in range(200)}
    operations: list[dict[str, object]] = []
    for number, (doc_id, vector) in enumerate(vectors.items()):
        operations.append({"index": {"_index": index_name, "_id": doc_id}})
        operations.append(
            {
                "text": f"item {doc_id}",
                "group": "even" if number % 2 == 0 else "odd",
                "vector": vector,
            }
        )
    response = await es_client.bulk(operations=operations, refresh="wait_for")
    assert not response["errors"]

    for probe in ("v3", "v42", "v199"):
        hits = await es_client.search(
            index=index_name,
            knn={"field": "vector", "query_vector": vectors[probe], "k": 5, "num_candidates": 50},
            source=False,
        )
        assert hits["hits"]["hits"][0]["_id"] == probe

    filtered = await es_client.search(
        index=index_name,
        knn={
            "field": "vector",
            "query_vector": vectors["v3"],
            "k": 5,
            "num_candidates": 50,
            "filter": {"term": {"group": "even"}},
        },
        source_includes=["group"],
    )
    groups = {hit["_source"]["group"] for hit in filtered["hits"]["hits"]}
    assert groups == {"even"}
    assert all(hit["_id"] != "v3" for hit in filtered["hits"]["hits"])
