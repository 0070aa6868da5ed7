"""Fixtures shared by the integration tests that run the worker as a subprocess."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from elasticsearch import AsyncElasticsearch

from stream.settings import StreamSettings
from tests.integration.kafka_helpers import create_test_topics
from tests.integration.worker_process import WorkerEnvironment


@pytest.fixture
async def setup(
    kafka_bootstrap: str,
    es_url: str,
    es_client: AsyncElasticsearch,
    topic_name: str,
    unique_name: str,
    tiny_random_clip: Path,
) -> AsyncIterator[tuple[StreamSettings, WorkerEnvironment]]:
    """Test topics (live, backfill and dead letters, uuid-named) and uuid-named indexes for
    a worker subprocess; the indexes and every topic named after the test (the worker's
    changelog and assignor topics too) are deleted afterwards."""
    stream_settings = await create_test_topics(kafka_bootstrap, topic_name)
    environment = WorkerEnvironment(
        kafka_bootstrap=kafka_bootstrap,
        elasticsearch_url=es_url,
        changes_topic=topic_name,
        backfill_topic=stream_settings.backfill_topic,
        chunks_alias=f"test-{unique_name}-chunks",
        documents_index=f"test-{unique_name}-documents",
        app_id=f"test-{unique_name}",
        clip_model=str(tiny_random_clip),
    )
    yield stream_settings, environment
    created = await es_client.indices.get(index=f"test-{unique_name}-*")
    if created.body:
        await es_client.indices.delete(index=",".join(created.body))
    await delete_test_topics(kafka_bootstrap, unique_name)


async def delete_test_topics(bootstrap: str, unique_name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        ours = [topic for topic in await admin.list_topics() if unique_name in topic]
        if ours:
            await admin.delete_topics(ours)
    finally:
        await admin.close()
