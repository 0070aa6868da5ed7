"""New indexes get the configured shards and replicas on a real node."""

from __future__ import annotations

from elasticsearch import AsyncElasticsearch

from indexer.settings import IndexerSettings
from indexer.store import ElasticsearchStore
from indexer.store.mappings import VectorSpace

SPACE = VectorSpace(text_model="t", text_dimensions=4, clip_model=None, clip_dimensions=None)


async def test_new_indexes_are_created_with_the_configured_shards(
    es_url: str, es_client: AsyncElasticsearch, unique_name: str
) -> None:
    prefix = f"test-{unique_name}"
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"{prefix}-chunks",
        documents_index=f"{prefix}-documents",
        chunk_shards=2,
        documents_shards=3,
    )
    store = ElasticsearchStore(settings)
    try:
        generation = await store.ensure_indexes(SPACE)
        found = await es_client.indices.get_settings(index=f"{prefix}-*")
        layout = {
            name: (
                int(body["settings"]["index"]["number_of_shards"]),
                int(body["settings"]["index"]["number_of_replicas"]),
            )
            for name, body in found.body.items()
        }
        assert layout == {generation: (2, 0), f"{prefix}-documents": (3, 0)}
        health = await es_client.cluster.health(index=generation, wait_for_status="green")
        assert health["active_primary_shards"] == 2
    finally:
        await store.close()
        created = await es_client.indices.get(index=f"{prefix}-*")
        if created.body:
            await es_client.indices.delete(index=",".join(created.body))
