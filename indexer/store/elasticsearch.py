"""``ElasticsearchStore``: executes what the pure builders describe, with bulk retries.

What Elasticsearch says is sorted by what the caller must do: connection errors, 429s and
5xx answers (whole requests, bulk items, ``mget`` items that carry an ``error``) and closed
indexes mean *the store is unavailable right now* (:class:`StoreUnavailable`: retry, then
stop without committing); anything else about one document's write fails that document.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from indexer.errors import StoreUnavailable
from indexer.manifest import Manifest
from indexer.settings import IndexerSettings
from indexer.store.mappings import (
    VectorSpace,
    chunk_index_body,
    documents_index_body,
    generation_index_name,
)
from indexer.store.records import DocumentWrite, manifest_from_source, manifest_source

logger = logging.getLogger(__name__)

_TRANSIENT = (TransportConnectionError, ConnectionTimeout)
_UNAVAILABLE_TYPES = frozenset(
    {"index_closed_exception", "cluster_block_exception", "index_not_found_exception"}
)
"""Error types that say the index cannot serve now (closed, blocked, gone: a restarted
worker creates it again), whatever the status."""


def is_unavailable(status: int, error_type: str | None = None) -> bool:
    """Whether an answer with this status (and error type) means *try again later*."""
    return status == 429 or status >= 500 or error_type in _UNAVAILABLE_TYPES


def store_unavailable(error: Exception, doing: str) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` that ``error`` amounts to, or ``None`` when it is not
    a transient failure (a 400 for a bad request, say)."""
    if isinstance(error, _TRANSIENT):
        return StoreUnavailable(f"Elasticsearch unavailable while {doing}: {error}")
    if isinstance(error, ApiError) and is_unavailable(error.meta.status, _error_type(error)):
        return StoreUnavailable(
            f"Elasticsearch answered {error.meta.status} while {doing}: {error.message}"
        )
    return None


def _error_type(error: ApiError) -> str | None:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        found = body["error"].get("type")
        return str(found) if found is not None else None
    return None


def found_items(docs: list[dict[str, Any]], doing: str) -> list[dict[str, Any]]:
    """The ``mget`` items that were found; an item with an ``error`` (a closed index, a
    shard that is not available) is not an answer, so it raises rather than reading as
    *not found*."""
    failed = [item for item in docs if "error" in item]
    if failed:
        error = failed[0]["error"]
        kind = error.get("type") if isinstance(error, dict) else error
        raise StoreUnavailable(
            f"Elasticsearch could not read {len(failed)} of {len(docs)} documents while "
            f"{doing}: {kind}: {error.get('reason') if isinstance(error, dict) else ''}"
        )
    return [item for item in docs if item.get("found")]


class GenerationMismatch(RuntimeError):
    """The alias points at a generation built with other models than the configured ones."""


class ElasticsearchStore:
    def __init__(self, settings: IndexerSettings, client: AsyncElasticsearch | None = None):
        self._settings = settings
        self._client = client or AsyncElasticsearch(
            settings.elasticsearch_url, request_timeout=60, retry_on_timeout=True, max_retries=3
        )
        self.generation: str | None = None

    @property
    def client(self) -> AsyncElasticsearch:
        return self._client

    async def close(self) -> None:
        await self._client.close()

    async def wait_until_ready(self, wait: str = "30s") -> None:
        try:
            await self._client.cluster.health(wait_for_status="yellow", timeout=wait)
        except (*_TRANSIENT, ApiError) as error:
            raise StoreUnavailable(f"Elasticsearch is not ready: {error}") from error

    async def ensure_indexes(self, space: VectorSpace) -> str:
        """The documents index and the current chunk generation (created on first use)."""
        alias = self._settings.chunks_alias
        documents = self._settings.documents_index
        try:
            if not await self._client.indices.exists(index=documents):
                await self._create(documents, documents_index_body())
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
                )
                body["aliases"] = {alias: {"is_write_index": True}}
                await self._create(generation, body)
        except (*_TRANSIENT, ApiError) as error:
            unavailable = store_unavailable(error, "preparing the indexes")
            if unavailable is None:
                raise
            raise unavailable from error
        self.generation = generation
        return generation

    async def _create(self, index: str, body: dict[str, Any]) -> None:
        try:
            await self._client.indices.create(index=index, **body)
        except ApiError as error:
            if error.meta.status != 400 or "already_exists" not in str(error):
                raise

    @staticmethod
    def _check_space(generation: str, meta: dict[str, Any], space: VectorSpace) -> None:
        wanted = space.as_meta()
        differing = [key for key in wanted if meta.get(key) != wanted[key]]
        if differing:
            details = ", ".join(f"{k}: {meta.get(k)!r} → {wanted[k]!r}" for k in differing)
            raise GenerationMismatch(
                f"index generation {generation} was built with other models ({details}); "
                "build a new generation for the new models, or configure the old ones"
            )

    async def load_manifests(self, doc_ids: Sequence[str]) -> dict[str, Manifest]:
        if not doc_ids:
            return {}
        doing = "loading manifests"
        try:
            response = await self._client.mget(
                index=self._settings.documents_index, ids=list(doc_ids), source=["manifest"]
            )
        except (*_TRANSIENT, ApiError) as error:
            unavailable = store_unavailable(error, doing)
            if unavailable is None:
                raise
            raise unavailable from error
        return {
            item["_id"]: manifest_from_source(item["_source"])
            for item in found_items(response["docs"], doing)
        }

    async def existing_chunk_ids(self, chunk_ids: Sequence[str]) -> set[str]:
        """Which of these chunks are already stored (written before a crash or a replay)."""
        if not chunk_ids:
            return set()
        doing = "checking stored chunks"
        try:
            response = await self._client.mget(
                index=self._settings.chunks_alias, ids=list(chunk_ids), source=False
            )
        except (*_TRANSIENT, ApiError) as error:
            unavailable = store_unavailable(error, doing)
            if unavailable is None:
                raise
            raise unavailable from error
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
        try:
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
                operation, result = next(iter(item.items()))
                status = int(result.get("status", 0))
                if operation == "delete" and status == 404:
                    continue  # already gone: deletes are idempotent
                if stale_ok and status == 409:
                    continue  # a newer manifest is already there
                reason = result.get("error", {})
                kind = reason.get("type") if isinstance(reason, dict) else None
                if is_unavailable(status, kind):
                    raise StoreUnavailable(f"{what} write refused with {status}: {result}")
                document = owner.get(str(result.get("_id")), str(result.get("_id")))
                failures[document] = f"{what} {operation} failed ({status}): {reason}"
                logger.error("store_failure doc_id=%s %s", document, failures[document])
        except (*_TRANSIENT, ApiError) as error:
            unavailable = store_unavailable(error, f"writing {what}s")
            if unavailable is None:
                raise
            raise unavailable from error
        return failures


def _chunk_action(index: str, action: str, chunk_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if action == "delete":
        return {"_op_type": "delete", "_index": index, "_id": chunk_id}
    if action == "update":
        return {"_op_type": "update", "_index": index, "_id": chunk_id, "doc": body}
    return {"_op_type": "index", "_index": index, "_id": chunk_id, "_source": body}
