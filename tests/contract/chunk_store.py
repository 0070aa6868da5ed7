"""The :class:`indexer.ports.ChunkStore` contract as tests, in the style of haystack's
``DocumentStoreBaseTests``: a subclass provides the ``store`` fixture (a fresh, empty store)
and the ``unreachable_store`` fixture (one whose backend cannot be reached), and inherits
every test. Only the protocol's methods are used, so each test says what any store must do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from indexer.errors import StoreUnavailable
from indexer.manifest import ChunkPosition, DocumentFields, Manifest
from indexer.ports import ChunkStore
from indexer.store import ChunkOperation, DocumentWrite, GenerationMismatch
from indexer.store.mappings import VectorSpace

SPACE = VectorSpace(
    text_model="test-text", text_dimensions=4, clip_model=None, clip_dimensions=None
)
OTHER_SPACE = VectorSpace(
    text_model="other-text", text_dimensions=8, clip_model=None, clip_dimensions=None
)
INDEXED_AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def chunk_body(doc_id: str, chunk_id: str, text: str, vector_size: int = 4) -> dict[str, object]:
    return {
        "chunk_id": chunk_id,
        "doc_id": doc_id,
        "source": "fs:contract",
        "uri": f"file:///contract/{doc_id}.txt",
        "modality": "text",
        "order": 0,
        "text": text,
        "revision": 1,
        "text_model": SPACE.text_model,
        "text_vector": [0.5 + index for index in range(vector_size)],
    }


def manifest(doc_id: str, revision: int, chunk_ids: list[str], deleted: bool = False) -> Manifest:
    return Manifest(
        doc_id=doc_id,
        revision=revision,
        deleted=deleted,
        fields=DocumentFields(source="fs:contract", uri=f"file:///contract/{doc_id}.txt"),
        content_sha256=f"sha-{doc_id}-{revision}",
        chunks=tuple(
            ChunkPosition(chunk_id=chunk_id, modality="text", order=order)
            for order, chunk_id in enumerate(chunk_ids)
        ),
        indexed_at=INDEXED_AT,
    )


def upsert(doc_id: str, revision: int, *chunk_ids: str) -> DocumentWrite:
    return DocumentWrite(
        doc_id=doc_id,
        operations=[
            ChunkOperation("index", chunk_id, chunk_body(doc_id, chunk_id, f"text of {chunk_id}"))
            for chunk_id in chunk_ids
        ],
        manifest=manifest(doc_id, revision, list(chunk_ids)),
    )


class ChunkStoreContract:
    """Every test here must pass for every :class:`ChunkStore` implementation."""

    @pytest.fixture
    async def ready(self, store: ChunkStore) -> ChunkStore:
        await store.wait_until_ready()
        await store.ensure_indexes(SPACE)
        return store

    async def test_ensure_indexes_is_idempotent(self, store: ChunkStore) -> None:
        first = await store.ensure_indexes(SPACE)
        assert first
        assert await store.ensure_indexes(SPACE) == first

    async def test_another_vector_space_is_a_generation_mismatch(self, store: ChunkStore) -> None:
        generation = await store.ensure_indexes(SPACE)
        with pytest.raises(GenerationMismatch, match=generation):
            await store.ensure_indexes(OTHER_SPACE)

    async def test_empty_requests_answer_empty(self, ready: ChunkStore) -> None:
        assert await ready.load_manifests([]) == {}
        assert await ready.existing_chunk_ids([]) == set()
        assert await ready.apply([]) == {}

    async def test_applied_manifests_are_loaded_and_unknown_ids_left_out(
        self, ready: ChunkStore
    ) -> None:
        write = upsert("doc-a", 3, "a-1", "a-2")
        assert await ready.apply([write]) == {}
        assert await ready.load_manifests(["doc-a", "unknown"]) == {"doc-a": write.manifest}

    async def test_existing_chunk_ids_is_the_stored_subset(self, ready: ChunkStore) -> None:
        await ready.apply([upsert("doc-a", 1, "a-1", "a-2")])
        assert await ready.existing_chunk_ids(["a-1", "a-2", "a-3"]) == {"a-1", "a-2"}

    async def test_an_older_manifest_is_ignored_not_an_error(self, ready: ChunkStore) -> None:
        newer = upsert("doc-a", 5, "a-1")
        await ready.apply([newer])
        assert await ready.apply([upsert("doc-a", 4, "a-1")]) == {}
        assert (await ready.load_manifests(["doc-a"]))["doc-a"].revision == 5

    async def test_a_newer_manifest_replaces_the_stored_one(self, ready: ChunkStore) -> None:
        await ready.apply([upsert("doc-a", 1, "a-1")])
        newer = upsert("doc-a", 2, "a-1", "a-2")
        assert await ready.apply([newer]) == {}
        assert await ready.load_manifests(["doc-a"]) == {"doc-a": newer.manifest}

    async def test_deleting_a_missing_chunk_succeeds(self, ready: ChunkStore) -> None:
        write = DocumentWrite(
            doc_id="doc-a",
            operations=[ChunkOperation("delete", "never-stored")],
            manifest=manifest("doc-a", 1, [], deleted=True),
        )
        assert await ready.apply([write]) == {}
        assert (await ready.load_manifests(["doc-a"]))["doc-a"].deleted

    async def test_a_deleted_document_keeps_a_manifest_and_loses_its_chunks(
        self, ready: ChunkStore
    ) -> None:
        await ready.apply([upsert("doc-a", 1, "a-1", "a-2")])
        deletion = DocumentWrite(
            doc_id="doc-a",
            operations=[ChunkOperation("delete", "a-1"), ChunkOperation("delete", "a-2")],
            manifest=manifest("doc-a", 2, [], deleted=True),
        )
        assert await ready.apply([deletion]) == {}
        assert await ready.existing_chunk_ids(["a-1", "a-2"]) == set()
        assert await ready.load_manifests(["doc-a"]) == {"doc-a": deletion.manifest}

    async def test_applying_the_same_writes_twice_leaves_the_same_state(
        self, ready: ChunkStore
    ) -> None:
        writes = [
            upsert("doc-a", 1, "a-1"),
            DocumentWrite(
                doc_id="doc-b",
                operations=[ChunkOperation("delete", "b-0"), *upsert("doc-b", 2, "b-1").operations],
                manifest=manifest("doc-b", 2, ["b-1"]),
            ),
        ]
        assert await ready.apply(writes) == {}
        once = (
            await ready.load_manifests(["doc-a", "doc-b"]),
            await ready.existing_chunk_ids(["a-1", "b-0", "b-1"]),
        )
        assert await ready.apply(writes) == {}
        twice = (
            await ready.load_manifests(["doc-a", "doc-b"]),
            await ready.existing_chunk_ids(["a-1", "b-0", "b-1"]),
        )
        assert once == twice == ({w.doc_id: w.manifest for w in writes}, {"a-1", "b-1"})

    async def test_an_update_changes_a_stored_chunk_in_place(self, ready: ChunkStore) -> None:
        await ready.apply([upsert("doc-a", 1, "a-1")])
        moved = DocumentWrite(
            doc_id="doc-a",
            operations=[ChunkOperation("update", "a-1", {"order": 7, "revision": 2})],
            manifest=manifest("doc-a", 2, ["a-1"]),
        )
        assert await ready.apply([moved]) == {}
        assert await ready.existing_chunk_ids(["a-1"]) == {"a-1"}
        assert (await ready.load_manifests(["doc-a"]))["doc-a"].revision == 2

    @pytest.mark.parametrize(
        "bad_operation",
        [
            ChunkOperation("update", "missing-chunk", {"order": 1}),
            ChunkOperation("index", "bad-1", {**chunk_body("bad", "bad-1", "x"), "surprise": 1}),
            ChunkOperation("index", "bad-1", chunk_body("bad", "bad-1", "x", vector_size=3)),
        ],
        ids=["update-of-a-missing-chunk", "unknown-field", "wrong-vector-size"],
    )
    async def test_a_permanent_failure_fails_its_document_alone(
        self, ready: ChunkStore, bad_operation: ChunkOperation
    ) -> None:
        await ready.apply([upsert("bad", 1)])
        bad = DocumentWrite(
            doc_id="bad", operations=[bad_operation], manifest=manifest("bad", 2, ["bad-1"])
        )
        good = upsert("good", 1, "good-1")
        failures = await ready.apply([bad, good])
        assert list(failures) == ["bad"]
        assert failures["bad"]
        loaded = await ready.load_manifests(["bad", "good"])
        assert loaded["bad"].revision == 1  # the manifest is left as it was
        assert loaded["good"] == good.manifest
        assert await ready.existing_chunk_ids(["bad-1", "good-1"]) == {"good-1"}


UnreachableCall = Callable[[ChunkStore], Awaitable[object]]
UNREACHABLE_CALLS: dict[str, UnreachableCall] = {
    "wait_until_ready": lambda store: store.wait_until_ready(),
    "ensure_indexes": lambda store: store.ensure_indexes(SPACE),
    "load_manifests": lambda store: store.load_manifests(["doc-a"]),
    "existing_chunk_ids": lambda store: store.existing_chunk_ids(["a-1"]),
    "apply": lambda store: store.apply([upsert("doc-a", 1, "a-1")]),
}


class UnreachableStoreContract:
    """A store whose backend cannot be reached raises ``StoreUnavailable`` from every call."""

    @pytest.mark.parametrize("call", list(UNREACHABLE_CALLS))
    async def test_every_call_raises_store_unavailable(
        self, unreachable_store: ChunkStore, call: str
    ) -> None:
        with pytest.raises(StoreUnavailable):
            await UNREACHABLE_CALLS[call](unreachable_store)
