"""``ElasticsearchStore``: executes what the pure builders describe, with bulk retries.

What Elasticsearch says is sorted by what the caller must do (``indexer.store.errors``):
connection errors, 429s and 5xx answers (whole requests, bulk items, ``mget`` items that
carry an ``error``) and closed indexes mean *the store is unavailable right now*
(:class:`StoreUnavailable`: retry, then stop without committing); anything else about one
document's write fails that document.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from indexer.errors import StoreUnavailable
from indexer.manifest import Manifest
from indexer.settings import IndexerSettings
from indexer.store.errors import (
    ELASTICSEARCH_ERRORS,
    GenerationMismatch,
    bulk_item_failure,
    found_items,
    unavailable_as_transient,
)
from indexer.store.mappings import (
    IndexLayout,
    VectorSpace,
    chunk_index_body,
    documents_index_body,
    generation_index_name,
)
from indexer.store.records import DocumentWrite, manifest_from_source, manifest_source

logger = logging.getLogger(__name__)


class ElasticsearchStore:
    """The :class:`indexer.ports.ChunkStore` on Elasticsearch: chunks behind the generation
    alias, manifests in the documents index (external versioning by revision)."""

    def __init__(self, settings: IndexerSettings, client: AsyncElasticsearch | None = None):
        self._settings = settings
        self._client = client or AsyncElasticsearch(
            settings.elasticsearch_url, request_timeout=60, retry_on_timeout=True, max_retries=3
        )
        self.generation: str | None = None

    @property
    def client(self) -> AsyncElasticsearch:
        return self._client

    @property
    def documents_index(self) -> str:
        """Where this store keeps the manifests."""
        return self._settings.documents_index

    async def close(self) -> None:
        await self._client.close()

    async def wait_until_ready(self, wait: str = "30s") -> None:
        try:
            await self._client.cluster.health(wait_for_status="yellow", timeout=wait)
        except ELASTICSEARCH_ERRORS as error:
            raise StoreUnavailable(f"Elasticsearch is not ready: {error}") from error

    async def ensure_indexes(self, space: VectorSpace) -> str:
        """The documents index and the current chunk generation (created on first use)."""
        settings = self._settings
        alias = settings.chunks_alias
        with unavailable_as_transient("preparing the indexes"):
            await self._ensure_documents_index()
            if await self._client.indices.exists_alias(name=alias):
                found = await self._client.indices.get_alias(name=alias)
                generation = str(sorted(found.body)[-1])
                mapping = await self._client.indices.get_mapping(index=generation)
                meta = mapping[generation]["mappings"].get("_meta", {})
                self._check_space(generation, meta, space)
                # Fields added by a newer mmrag (e.g. ocr_text) are added in place.
                body = chunk_index_body(
                    space,
                    index_type=self._settings.vector_index_type,
                    refresh_interval=self._settings.refresh_interval,
                )
                await self._client.indices.put_mapping(
                    index=generation, properties=body["mappings"]["properties"]
                )
            else:
                generation = generation_index_name(alias, 1)
                body = chunk_index_body(
                    space,
                    index_type=self._settings.vector_index_type,
                    refresh_interval=self._settings.refresh_interval,
                    layout=IndexLayout(settings.chunk_shards, settings.chunk_replicas),
                )
                body["aliases"] = {alias: {"is_write_index": True}}
                await self._create(generation, body)
        self.generation = generation
        return generation

    async def ensure_documents_index(self) -> None:
        """The documents index alone (a chunking group's whose generations exist)."""
        with unavailable_as_transient("preparing the documents index"):
            await self._ensure_documents_index()

    async def _ensure_documents_index(self) -> None:
        settings = self._settings
        if not await self._client.indices.exists(index=settings.documents_index):
            layout = IndexLayout(settings.documents_shards, settings.documents_replicas)
            await self._create(settings.documents_index, documents_index_body(layout))

    async def _create(self, index: str, body: dict[str, Any]) -> None:
        try:
            await self._client.indices.create(index=index, **body)
        except ApiError as error:
            if error.meta.status != 400 or "already_exists" not in str(error):
                raise

    @staticmethod
    def _check_space(generation: str, meta: dict[str, Any], space: VectorSpace) -> None:
        GenerationMismatch.check(generation, meta, space.as_meta())

    async def load_manifests(self, doc_ids: Sequence[str]) -> dict[str, Manifest]:
        if not doc_ids:
            return {}
        doing = "loading manifests"
        with unavailable_as_transient(doing):
            response = await self._client.mget(
                index=self._settings.documents_index, ids=list(doc_ids), source=["manifest"]
            )
        return {
            item["_id"]: manifest_from_source(item["_source"])
            for item in found_items(response["docs"], doing)
        }

    async def existing_chunk_ids(
        self, chunk_ids: Sequence[str], *, index: str | None = None
    ) -> set[str]:
        """Which of these chunks are already stored (written before a crash or a replay),
        behind the alias or in ``index`` (a chunking group's lead generation)."""
        if not chunk_ids:
            return set()
        doing = "checking stored chunks"
        with unavailable_as_transient(doing):
            response = await self._client.mget(
                index=index or self._settings.chunks_alias, ids=list(chunk_ids), source=False
            )
        return {item["_id"] for item in found_items(response["docs"], doing)}

    async def apply(self, writes: Sequence[DocumentWrite]) -> dict[str, str]:
        """Write chunks, then the manifests of documents whose chunks all succeeded.

        Returns ``doc_id → reason`` for documents that failed permanently (a mapping error,
        say); raises :class:`StoreUnavailable` when Elasticsearch is out of reach or keeps
        refusing after the bulk helper's retries (429s are retried with backoff).
        """
        owner = {op.chunk_id: write.doc_id for write in writes for op in write.operations}
        actions = [
            _chunk_action(self._settings.chunks_alias, op.action, op.chunk_id, op.body)
            for write in writes
            for op in write.operations
        ]
        failures = await self._bulk(
            actions, refresh=self._settings.refresh, owner=owner, what="chunk"
        )
        manifests = [
            {
                "_op_type": "index",
                "_index": self._settings.documents_index,
                "_id": write.doc_id,
                "version": write.manifest.revision,
                "version_type": "external_gte",
                "_source": manifest_source(write.manifest),
            }
            for write in writes
            if write.doc_id not in failures
        ]
        failures.update(
            await self._bulk(manifests, refresh="false", owner={}, what="manifest", stale_ok=True)
        )
        return failures

    async def _bulk(
        self,
        actions: list[dict[str, Any]],
        *,
        refresh: str,
        owner: dict[str, str],
        what: str,
        stale_ok: bool = False,
    ) -> dict[str, str]:
        failures: dict[str, str] = {}
        if not actions:
            return failures
        with unavailable_as_transient(f"writing {what}s"):
            async for ok, item in async_streaming_bulk(
                self._client,
                actions,
                chunk_size=500,
                max_retries=self._settings.bulk_max_retries,
                initial_backoff=1,
                max_backoff=30,
                raise_on_error=False,
                raise_on_exception=True,
                refresh=refresh,
            ):
                if ok:
                    continue
                failed = bulk_item_failure(item, f"writing {what}s")
                if failed.operation == "delete" and failed.status == 404:
                    continue  # already gone: deletes are idempotent
                if stale_ok and failed.status == 409:
                    continue  # a newer manifest is already there
                document = owner.get(failed.item_id, failed.item_id)
                failures[document] = (
                    f"{what} {failed.operation} failed ({failed.status}): {failed.reason}"
                )
                logger.error("store_failure doc_id=%s %s", document, failures[document])
        return failures


def _chunk_action(index: str, action: str, chunk_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if action == "delete":
        return {"_op_type": "delete", "_index": index, "_id": chunk_id}
    if action == "update":
        return {"_op_type": "update", "_index": index, "_id": chunk_id, "doc": body}
    return {"_op_type": "index", "_index": index, "_id": chunk_id, "_source": body}
