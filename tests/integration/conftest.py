"""Fixtures shared by the integration tests that run the worker as a subprocess."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
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
    """Test topics and uuid-named indexes for a worker subprocess; the indexes are
    deleted afterwards."""
    stream_settings = await create_test_topics(kafka_bootstrap, topic_name)
    environment = WorkerEnvironment(
        kafka_bootstrap=kafka_bootstrap,
        elasticsearch_url=es_url,
        changes_topic=topic_name,
        chunks_alias=f"test-{unique_name}-chunks",
        documents_index=f"test-{unique_name}-documents",
        app_id=f"test-{unique_name}",
        clip_model=str(tiny_random_clip),
    )
    yield stream_settings, environment
    created = await es_client.indices.get(index=f"test-{unique_name}-*")
    if created.body:
        await es_client.indices.delete(index=",".join(created.body))
