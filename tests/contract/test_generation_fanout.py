"""The ChunkStore contract on :class:`GenerationFanout`, the worker's dual-writing store,
against the real node: with one generation it must behave exactly as the plain store
(uuid-named indexes, deleted afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from elasticsearch import AsyncElasticsearch

from indexer.encoders.settings import EncoderSettings
from indexer.generations.encoders import EncoderCache
from indexer.generations.fanout import GenerationFanout
from indexer.ports import ChunkStore
from indexer.settings import IndexerSettings
from indexer.store import ElasticsearchStore
from tests.contract.chunk_store import ChunkStoreContract, UnreachableStoreContract

pytestmark = pytest.mark.integration


def _fanout(settings: IndexerSettings) -> GenerationFanout:
    # No encoder is ever loaded: the contract's chunks carry the generation's own model.
    return GenerationFanout(
        ElasticsearchStore(settings), settings, EncoderCache(EncoderSettings()), None
    )


class TestGenerationFanout(ChunkStoreContract, UnreachableStoreContract):
    @pytest.fixture
    async def store(
        self, es_url: str, es_client: AsyncElasticsearch, unique_name: str
    ) -> AsyncIterator[ChunkStore]:
        prefix = f"test-{unique_name}"
        settings = IndexerSettings(
            elasticsearch_url=es_url,
            chunks_alias=f"{prefix}-chunks",
            documents_index=f"{prefix}-documents",
        )
        store = _fanout(settings)
        try:
            yield store
        finally:
            await store.close()
            created = await es_client.indices.get(index=f"{prefix}-*")
            if created.body:
                await es_client.indices.delete(index=",".join(created.body))

    @pytest.fixture
    async def unreachable_store(self, unique_name: str) -> AsyncIterator[ChunkStore]:
        settings = IndexerSettings(
            elasticsearch_url="http://127.0.0.1:9", chunks_alias=f"test-{unique_name}-chunks"
        )
        store = _fanout(settings)
        try:
            yield store
        finally:
            await store.close()
