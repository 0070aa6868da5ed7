"""The ChunkStore contract run on a store over the real node: uuid-named indexes, deleted
afterwards; the unreachable variant points at a port nothing listens on. A subclass says
how to build its store from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from elasticsearch import AsyncElasticsearch

from indexer.ports import ChunkStore
from indexer.settings import IndexerSettings
from tests.contract.chunk_store import ChunkStoreContract, UnreachableStoreContract


class OnElasticsearch(ChunkStoreContract, UnreachableStoreContract):
    def build(self, settings: IndexerSettings) -> ChunkStore:
        raise NotImplementedError

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
        store = self.build(settings)
        try:
            yield store
        finally:
            await store.close()
            created = await es_client.indices.get(index=f"{prefix}-*")
            if created.body:
                await es_client.indices.delete(index=",".join(created.body))

    @pytest.fixture
    async def unreachable_store(self, unique_name: str) -> AsyncIterator[ChunkStore]:
        # Port 9 (discard) on the loopback: nothing listens, connections are refused at once.
        settings = IndexerSettings(
            elasticsearch_url="http://127.0.0.1:9", chunks_alias=f"test-{unique_name}-chunks"
        )
        store = self.build(settings)
        try:
            yield store
        finally:
            await store.close()
