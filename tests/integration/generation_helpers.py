"""Checks shared by the index-generation integration tests."""

from __future__ import annotations

from elasticsearch import AsyncElasticsearch

from indexer.generations.copying import read_manifests
from indexer.generations.elastic_io import pages


async def chunks_by_document(es: AsyncElasticsearch, index: str) -> dict[str, set[str]]:
    await es.indices.refresh(index=index)
    found: dict[str, set[str]] = {}
    async for hits in pages(es, index, "chunk_id", size=1000, source=["doc_id"]):
        for hit in hits:
            found.setdefault(hit["_source"]["doc_id"], set()).add(str(hit["_id"]))
    return found


async def assert_matches_manifests(es: AsyncElasticsearch, documents_index: str, index: str) -> int:
    """Every document's chunks in ``index`` are exactly its manifest's, and it holds no
    chunk of a deleted or unknown document; returns how many documents have chunks."""
    await es.indices.refresh(index=documents_index)
    doc_ids: list[str] = []
    async for hits in pages(es, documents_index, "doc_id", size=1000):
        doc_ids.extend(str(hit["_id"]) for hit in hits)
    manifests = await read_manifests(es, documents_index, doc_ids)
    held = await chunks_by_document(es, index)
    wanted = {
        doc_id: set(m.chunk_ids) for doc_id, m in manifests.items() if not m.deleted and m.chunks
    }
    assert {d: held.get(d, set()) for d in wanted} == wanted, f"{index}: missing chunks"
    extra = {d: ids for d, ids in held.items() if d not in wanted}
    assert not extra, f"{index} holds chunks of deleted or unknown documents: {extra}"
    return len(wanted)
