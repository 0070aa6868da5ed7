"""``mmrag status`` counts what the served generation holds, against the real Kafka and
Elasticsearch: a generation that chunks differently keeps its manifests in its own
documents index, and the probe follows the chunks alias to it (and back after a
rollback). A build of such a generation reads in the status line like any build."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from indexer.generations.meta import BuildProgress, GenerationConfig, GenerationMeta
from indexer.generations.naming import generation_documents_index
from indexer.generations.registry import GenerationRegistry
from indexer.manifest import DocumentFields, Manifest
from indexer.store.mappings import documents_index_body
from indexer.store.records import manifest_source
from stream.settings import StreamSettings
from tests.integration.conftest import delete_test_topics
from tests.integration.kafka_helpers import create_test_topics

CONFIG = GenerationConfig(text_model="fake-hashing", text_dimensions=8)


@dataclass
class Generations:
    registry: GenerationRegistry
    environment: dict[str, str]
    shared: str
    own: str
    first: str
    second: str
    building: str


def _manifest(source: str, number: int, chunks: int, *, deleted: bool = False) -> dict[str, Any]:
    manifest = Manifest(
        doc_id=f"{source}:{number}",
        revision=1,
        deleted=deleted,
        fields=DocumentFields(source=source, uri=f"file:///srv/{source}/{number}.md"),
    )
    return manifest_source(manifest) | {"chunk_count": 0 if deleted else chunks}


async def _documents(
    es: AsyncElasticsearch, index: str, manifests: Sequence[dict[str, Any]]
) -> None:
    await es.indices.create(index=index, **documents_index_body())
    for body in manifests:
        await es.index(index=index, id=body["doc_id"], document=body)


@pytest.fixture
async def generations(
    kafka_bootstrap: str,
    es_url: str,
    es_client: AsyncElasticsearch,
    topic_name: str,
    unique_name: str,
    tmp_path: Path,
) -> AsyncIterator[Generations]:
    """Generation 1 (shared documents index: 3 documents of ``fs:docs``), 2 (its own: 1 of
    ``fs:docs``, 2 of ``fs:new`` and a tombstone), live; 3 being built, with its own."""
    settings: StreamSettings = await create_test_topics(kafka_bootstrap, topic_name)
    alias, shared = f"test-{unique_name}-chunks", f"test-{unique_name}-documents"
    registry = GenerationRegistry(es_client, alias)
    try:
        first = await registry.create(GenerationMeta(config=CONFIG, state="live"))
        own = generation_documents_index(shared, alias, f"{alias}-000002")
        second = await registry.create(
            GenerationMeta(config=CONFIG, state="ready", documents_index=own)
        )
        building_meta = GenerationMeta(
            config=CONFIG.model_copy(update={"chunk_max_tokens": 120, "chunk_overlap_tokens": 40}),
            documents_index=generation_documents_index(shared, alias, f"{alias}-000003"),
            build=BuildProgress(
                source=second,
                documents_total=40,
                documents_done=12,
                chunks_copied=120,
                seconds=6.0,
            ),
        )
        building = await registry.create(building_meta)
        await _documents(es_client, shared, [_manifest("fs:docs", n, 2) for n in range(3)])
        await _documents(
            es_client,
            own,
            [
                _manifest("fs:docs", 0, 5),
                _manifest("fs:new", 1, 3),
                _manifest("fs:new", 2, 4),
                _manifest("fs:new", 3, 0, deleted=True),
            ],
        )
        for number in range(2):
            await es_client.index(index=second, document={"chunk_id": f"c{number}"})
        await es_client.indices.refresh(index=f"test-{unique_name}-*")
        await registry.switch(second)
        environment = {
            **os.environ,
            "MMRAG_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "MMRAG_CHANGES_TOPIC": settings.changes_topic,
            "MMRAG_BACKFILL_TOPIC": settings.backfill_topic,
            "MMRAG_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
            "MMRAG_CHANGES_PARTITIONS": str(settings.changes_partitions),
            "MMRAG_WORKER_APP_ID": f"test-{unique_name}",
            "MMRAG_ELASTICSEARCH_URL": es_url,
            "MMRAG_DOCUMENTS_INDEX": shared,
            "MMRAG_CHUNKS_ALIAS": alias,
            "MMRAG_WATCH_STATE_DIR": str(tmp_path / "state"),  # nothing sent from here
        }
        yield Generations(registry, environment, shared, own, first, second, building)
    finally:
        created = await es_client.indices.get(index=f"test-{unique_name}-*")
        if created.body:
            await es_client.indices.delete(index=",".join(created.body))
        await delete_test_topics(kafka_bootstrap, unique_name)


async def _status(environment: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mmrag", "status", *options, "--interval", "0.3"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _sources(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {s["source"]: (s["searchable_documents"], s["chunks"]) for s in report["sources"]}


async def test_status_counts_the_documents_of_the_generation_the_alias_serves(
    generations: Generations,
) -> None:
    result = await _status(generations.environment, "--json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["generation"] == generations.second
    assert report["documents_index"] == generations.own
    assert _sources(report) == {"fs:docs": (1, 5), "fs:new": (2, 7)}  # the tombstone is not
    assert report["chunks_searchable"] == 2
    build = report["index_build"]  # generation 3: its own documents index, built by events
    assert build["generation"] == generations.building
    assert (build["documents_done"], build["documents_total"]) == (12, 40)

    shown = await _status(generations.environment, "--no-follow")
    assert shown.returncode == 0, shown.stderr
    screen = " ".join(shown.stderr.split())
    assert f"searching {generations.second} (documents in {generations.own})" in screen
    line = screen[screen.index(f"index generation {generations.building} building") :]
    assert "12/40 documents" in line  # documents, never its chunks (120) or chunk size

    await generations.registry.switch(generations.first)  # a rollback: the shared index
    result = await _status(generations.environment, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["generation"] == generations.first
    assert report["documents_index"] == generations.shared
    assert _sources(report) == {"fs:docs": (3, 6)}
    assert report["chunks_searchable"] == 0
