"""Checks shared by the index-generation integration tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
from elasticsearch import AsyncElasticsearch

from indexer.change_log import ChangeLogSettings
from indexer.encoders.base import Encoders
from indexer.generations.copying import read_manifests
from indexer.generations.elastic_io import pages
from indexer.settings import IndexerSettings
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.settings import ApiSettings
from tests.integration.worker_process import WorkerEnvironment


def generations_command(
    environment: WorkerEnvironment, *arguments: str
) -> subprocess.CompletedProcess[str]:
    """``mmrag generations …`` in a subprocess with the worker's variables."""
    variables = {**os.environ, **environment.variables(metrics_port=0)}
    return subprocess.run(
        [sys.executable, "-m", "mmrag", "generations", *arguments],
        env=variables,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@contextlib.asynccontextmanager
async def in_process_api(
    settings: IndexerSettings, encoders: Encoders
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The query API over ``settings``' indexes, in this process (no LLM, no page): a
    client for it and the app."""
    app = create_app(
        ApiSettings(lag_timeout_s=15),
        store_settings=settings,
        generation_settings=GenerationSettings(),
        change_log_settings=ChangeLogSettings(),
        encoders_factory=lambda: encoders,
        llm_factory=lambda _settings: None,
        static_directory=None,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client, app


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
