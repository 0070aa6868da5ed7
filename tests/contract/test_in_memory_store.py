"""The ChunkStore contract on :class:`InMemoryChunkStore` (no service: a unit test), and
what only the in-memory store offers (its contents, its availability switch)."""

from __future__ import annotations

import pytest

from indexer.errors import StoreUnavailable
from indexer.ports import ChunkStore
from indexer.store import ChunkOperation, DocumentWrite, InMemoryChunkStore
from tests.contract.chunk_store import (
    SPACE,
    ChunkStoreContract,
    UnreachableStoreContract,
    manifest,
    upsert,
)

pytestmark = pytest.mark.unit


class TestInMemoryChunkStore(ChunkStoreContract, UnreachableStoreContract):
    @pytest.fixture
    def store(self) -> ChunkStore:
        return InMemoryChunkStore()

    @pytest.fixture
    def unreachable_store(self) -> ChunkStore:
        store = InMemoryChunkStore()
        store.available = False
        return store


async def test_writes_before_ensure_indexes_are_refused_as_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match="ensure_indexes"):
        await InMemoryChunkStore().apply([upsert("doc-a", 1, "a-1")])


async def test_the_generation_is_named_after_the_alias() -> None:
    store = InMemoryChunkStore("docs-chunks")
    assert await store.ensure_indexes(SPACE) == "docs-chunks-000001"
    assert store.generation == "docs-chunks-000001"


async def test_stored_chunks_are_readable_and_updates_merge_into_them() -> None:
    store = InMemoryChunkStore()
    await store.ensure_indexes(SPACE)
    first = upsert("doc-a", 1, "a-1")
    await store.apply([first])
    await store.apply(
        [
            DocumentWrite(
                doc_id="doc-a",
                operations=[ChunkOperation("update", "a-1", {"order": 4})],
                manifest=manifest("doc-a", 2, ["a-1"]),
            )
        ]
    )
    assert dict(store.chunks["a-1"]) == {**first.operations[0].body, "order": 4}


async def test_an_unavailable_store_comes_back_with_its_contents() -> None:
    store = InMemoryChunkStore()
    await store.ensure_indexes(SPACE)
    await store.apply([upsert("doc-a", 1, "a-1")])
    store.available = False
    with pytest.raises(StoreUnavailable, match="loading manifests"):
        await store.load_manifests(["doc-a"])
    store.available = True
    assert (await store.load_manifests(["doc-a"]))["doc-a"].revision == 1
