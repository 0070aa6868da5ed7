"""Elasticsearch reads and writes the generation tools share: paging an index in key
order, real-time reads by id, bulk writes with per-item results."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from indexer.store.errors import (
    bulk_item_failure,
    found_items,
    unavailable_as_transient,
)

logger = logging.getLogger(__name__)

VECTORS = ["text_vector", "clip_vector"]


async def pages(
    client: AsyncElasticsearch,
    index: str,
    key: str,
    *,
    after: str | None = None,
    size: int = 500,
    query: dict[str, Any] | None = None,
    source: Any = False,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Hits in ascending ``key`` order (a unique keyword field), a page at a time,
    starting after ``after``. Not a snapshot: callers re-read what matters by id."""
    while True:
        body: dict[str, Any] = {
            "size": size,
            "sort": [{key: "asc"}],
            "query": query or {"match_all": {}},
            "_source": source,
        }
        if after is not None:
            body["search_after"] = [after]
        response = await client.search(index=index, body=body)
        hits = response["hits"]["hits"]
        if not hits:
            return
        yield list(hits)
        after = str(hits[-1]["sort"][0])
        if len(hits) < size:
            return


async def read_by_id(
    client: AsyncElasticsearch,
    index: str,
    ids: Sequence[str],
    *,
    vectors: bool = True,
) -> dict[str, dict[str, Any]]:
    """Real-time reads: id → source (with the vectors unless ``vectors=False``), for
    those found."""
    if not ids:
        return {}
    # Indexes keep vectors out of ``_source`` (``index.mapping.exclude_source_vectors``);
    # naming every field asks for them back.
    options: dict[str, Any] = {"source_includes": ["*"]}
    if not vectors:
        options = {"source_excludes": VECTORS}
    response = await client.mget(index=index, ids=list(ids), **options)
    return {
        str(item["_id"]): dict(item["_source"])
        for item in found_items(response["docs"], f"reading {index}")
    }


async def bulk(
    client: AsyncElasticsearch, actions: list[dict[str, Any]], *, refresh: str = "false"
) -> dict[str, str]:
    """Run the actions; returns ``id → reason`` of items that failed for good. A delete of
    something not there, and a ``create`` of something already there (a newer write won),
    are not failures; an unavailable cluster raises :class:`StoreUnavailable`."""
    failures: dict[str, str] = {}
    if not actions:
        return failures
    with unavailable_as_transient("writing a generation"):
        await _bulk(client, actions, refresh, failures)
    return failures


async def _bulk(
    client: AsyncElasticsearch,
    actions: list[dict[str, Any]],
    refresh: str,
    failures: dict[str, str],
) -> None:
    async for ok, item in async_streaming_bulk(
        client,
        actions,
        chunk_size=200,
        max_retries=5,
        initial_backoff=1,
        max_backoff=30,
        raise_on_error=False,
        raise_on_exception=True,
        refresh=refresh,
    ):
        if ok:
            continue
        failed = bulk_item_failure(item, "writing a generation")
        if (failed.operation, failed.status) in (("delete", 404), ("create", 409)):
            continue  # already gone; a newer write is already there
        failures[failed.item_id] = f"{failed.operation} failed ({failed.status}): {failed.reason}"
