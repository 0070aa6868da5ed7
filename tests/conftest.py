"""Shared fixtures. Service fixtures are session-scoped and started only when an
integration test asks for them, so ``pytest -m unit`` needs no services at all."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch, NotFoundError

from tests.services import ServiceEndpoints, service_endpoints


def pytest_configure(config: pytest.Config) -> None:
    """No model hub is reachable here: every model loads from local files."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/unit are ``unit``, under tests/integration ``integration``."""
    for item in items:
        path = str(item.path)
        if "/tests/unit/" in path:
            item.add_marker(pytest.mark.unit)
        elif "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def services() -> Iterator[ServiceEndpoints]:
    with service_endpoints() as endpoints:
        yield endpoints


@pytest.fixture(scope="session")
def kafka_bootstrap(services: ServiceEndpoints) -> str:
    return services.kafka_bootstrap


@pytest.fixture(scope="session")
def es_url(services: ServiceEndpoints) -> str:
    return services.elasticsearch_url


@pytest.fixture(scope="session")
def tiny_random_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised CLIP saved to disk: proves the CLIP code path (loading,
    shapes, mappings, pipeline), never retrieval quality."""
    from indexer.encoders.tiny_clip import build_tiny_random_clip

    return build_tiny_random_clip(tmp_path_factory.mktemp("tiny-random-clip"))


@pytest.fixture
def unique_name() -> str:
    """A suffix that keeps each test's topics, indexes and groups apart."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def topic_name(unique_name: str) -> str:
    return f"test.{unique_name}"


@pytest.fixture
async def es_client(es_url: str) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(es_url, request_timeout=30)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def index_name(es_client: AsyncElasticsearch, unique_name: str) -> AsyncIterator[str]:
    name = f"test-{unique_name}"
    yield name
    with contextlib.suppress(NotFoundError):
        await es_client.indices.delete(index=name)
