"""``InMemoryChunkStore``: the :class:`indexer.ports.ChunkStore` contract in a few dicts.

A real store with Elasticsearch's semantics where the contract names them, for unit tests
of the pipeline and anything else that needs a store without a service: one generation per
vector space (another space raises :class:`GenerationMismatch`), chunk fields checked
against the same strict mapping (an unknown field or a vector of the wrong dimension fails
that document, as ``dynamic: strict`` and ``dense_vector`` do), updates of a missing chunk
fail (``document_missing_exception``), deletes of a missing chunk succeed, and manifests
are versioned by revision like ``version_type=external_gte`` (an older one is ignored).
Manifests go through the same source form as in Elasticsearch, so what is read back is
what was serialised.

Set :attr:`available` to ``False`` to make every call raise :class:`StoreUnavailable`, as
an unreachable node does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from indexer.errors import StoreUnavailable
from indexer.manifest import Manifest
from indexer.store.errors import GenerationMismatch
from indexer.store.mappings import VectorSpace, chunk_index_body, generation_index_name
from indexer.store.records import (
    ChunkOperation,
    DocumentWrite,
    manifest_from_source,
    manifest_source,
)


class InMemoryChunkStore:
    def __init__(self, chunks_alias: str = "mmrag-chunks") -> None:
        self._alias = chunks_alias
        self.available = True
        self.generation: str | None = None
        self._meta: dict[str, Any] = {}
        self._properties: dict[str, Any] = {}
        self._chunks: dict[str, dict[str, Any]] = {}
        self._manifests: dict[str, dict[str, Any]] = {}

    @property
    def chunks(self) -> Mapping[str, Mapping[str, Any]]:
        """The stored chunk sources by chunk id (read-only)."""
        return MappingProxyType(self._chunks)

    async def wait_until_ready(self) -> None:
        self._check_available("waiting until ready")

    async def ensure_indexes(self, space: VectorSpace) -> str:
        self._check_available("preparing the indexes")
        if self.generation is None:
            self.generation = generation_index_name(self._alias, 1)
            self._meta = space.as_meta()
        GenerationMismatch.check(self.generation, self._meta, space.as_meta())
        body = chunk_index_body(space, index_type="hnsw", refresh_interval="1s")
        self._properties = body["mappings"]["properties"]
        return self.generation

    async def load_manifests(self, doc_ids: Sequence[str]) -> dict[str, Manifest]:
        self._check_available("loading manifests")
        return {
            doc_id: manifest_from_source(self._manifests[doc_id])
            for doc_id in doc_ids
            if doc_id in self._manifests
        }

    async def existing_chunk_ids(self, chunk_ids: Sequence[str]) -> set[str]:
        self._check_available("checking stored chunks")
        return {chunk_id for chunk_id in chunk_ids if chunk_id in self._chunks}

    async def apply(self, writes: Sequence[DocumentWrite]) -> dict[str, str]:
        self._check_available("writing chunks")
        if self.generation is None:
            raise StoreUnavailable("no chunk generation: ensure_indexes was not called")
        failures: dict[str, str] = {}
        for write in writes:
            for operation in write.operations:
                reason = self._apply_chunk(operation)
                if reason is not None and write.doc_id not in failures:
                    failures[write.doc_id] = reason
        for write in writes:
            if write.doc_id not in failures:
                self._store_manifest(write.manifest)
        return failures

    async def close(self) -> None:
        """Nothing to release: the contents stay readable through :attr:`chunks`."""

    def _apply_chunk(self, operation: ChunkOperation) -> str | None:
        """Apply one chunk operation; the reason it failed, or ``None``."""
        chunk_id = operation.chunk_id
        if operation.action == "delete":
            self._chunks.pop(chunk_id, None)  # already gone: deletes are idempotent
            return None
        problem = self._mapping_problem(operation.body)
        if problem is not None:
            return f"chunk {operation.action} failed (400): {problem}"
        if operation.action == "update":
            stored = self._chunks.get(chunk_id)
            if stored is None:
                return (
                    f"chunk update failed (404): document_missing_exception: [{chunk_id}]: "
                    "document missing"
                )
            stored.update(operation.body)
            return None
        self._chunks[chunk_id] = dict(operation.body)
        return None

    def _mapping_problem(self, body: Mapping[str, Any]) -> str | None:
        """What the strict chunk mapping would refuse in ``body``, or ``None``."""
        unknown = sorted(set(body) - set(self._properties))
        if unknown:
            return (
                f"strict_dynamic_mapping_exception: fields {unknown} are not allowed "
                "(dynamic: strict)"
            )
        for name, value in body.items():
            expected = self._properties[name].get("dims")
            if expected is not None and (not isinstance(value, list) or len(value) != expected):
                size = len(value) if isinstance(value, list) else type(value).__name__
                return (
                    f"document_parsing_exception: {name} has {size} dimensions, "
                    f"the mapping {expected}"
                )
        return None

    def _store_manifest(self, manifest: Manifest) -> None:
        stored = self._manifests.get(manifest.doc_id)
        if stored is not None and int(stored["revision"]) > manifest.revision:
            return  # a newer manifest is already there
        self._manifests[manifest.doc_id] = manifest_source(manifest)

    def _check_available(self, doing: str) -> None:
        if not self.available:
            raise StoreUnavailable(f"the in-memory store is unavailable while {doing}")
