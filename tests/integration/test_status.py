"""``mmrag status --json`` and ``mmrag watch --once --wait`` against the real Kafka and
Elasticsearch, with events pending: what is sent, searchable and still to do."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from elasticsearch import AsyncElasticsearch

from indexer.change_log import GroupOffsetReader
from indexer.events import ChangeEvent, Operation
from indexer.manifest import DocumentFields, Manifest
from indexer.store.mappings import documents_index_body
from indexer.store.records import manifest_source
from stream.lanes import Lane
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher.planning import ObservedFile, PlannedChange
from stream.watcher.state import WatchState, state_file_for
from tests.integration.kafka_helpers import create_test_topics
from tests.integration.worker_process import wait_for


def _event(number: int) -> ChangeEvent:
    return ChangeEvent(
        event_id=f"e-{number}",
        source="fs:docs",
        doc_id=f"fs:docs:{number}",
        op=Operation.DELETE,
        uri=f"file:///srv/docs/{number}.md",
        revision=number,
        emitted_at=datetime.now(UTC),
    )


@pytest.fixture
async def indexes(es_client: AsyncElasticsearch, unique_name: str) -> AsyncIterator[dict[str, str]]:
    names = {
        "documents": f"test-{unique_name}-documents",
        "chunks": f"test-{unique_name}-chunks",
    }
    yield names
    await es_client.indices.delete(index=",".join(names.values()), ignore_unavailable=True)


def _environment(
    settings: StreamSettings, es_url: str, indexes: dict[str, str], group: str, state: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "MMRAG_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MMRAG_CHANGES_TOPIC": settings.changes_topic,
        "MMRAG_BACKFILL_TOPIC": settings.backfill_topic,
        "MMRAG_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
        "MMRAG_CHANGES_PARTITIONS": str(settings.changes_partitions),
        "MMRAG_WORKER_APP_ID": group,
        "MMRAG_ELASTICSEARCH_URL": es_url,
        "MMRAG_DOCUMENTS_INDEX": indexes["documents"],
        "MMRAG_CHUNKS_ALIAS": indexes["chunks"],
        "MMRAG_WATCH_STATE_DIR": str(state),
    }


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """What the worker does once a batch is indexed: commit the group's offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})
    finally:
        await consumer.stop()


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    async with GroupOffsetReader(bootstrap, "unused", request_timeout_s=10) as reader:
        partitions = (await reader.read([topic]))[topic]
    return {TopicPartition(topic, number): read.end for number, read in partitions.items()}


async def test_status_shows_each_lanes_backlog_and_each_sources_progress(
    kafka_bootstrap: str,
    es_url: str,
    es_client: AsyncElasticsearch,
    topic_name: str,
    unique_name: str,
    indexes: dict[str, str],
    tmp_path: Path,
) -> None:
    settings = await create_test_topics(kafka_bootstrap, topic_name)
    group = f"test-{unique_name}"
    async with ChangeProducer.from_settings(settings) as producer:
        await producer.send_many([_event(1), _event(2), _event(3)], lane=Lane.BACKFILL)
        await producer.send(_event(4), lane=Lane.LIVE)
    # The worker processed the backfill records of one partition (and committed past them).
    processed_partition = min(tp for tp in producer.sent_ends if tp[0] == settings.backfill_topic)
    processed = producer.sent_ends[processed_partition]
    await _commit(kafka_bootstrap, group, {TopicPartition(*processed_partition): processed})

    await es_client.indices.create(index=indexes["documents"], **documents_index_body())
    for number, chunks in ((1, 3), (2, 4)):
        manifest = Manifest(
            doc_id=f"fs:docs:{number}",
            revision=1,
            fields=DocumentFields(source="fs:docs", uri=f"file:///srv/docs/{number}.md"),
            chunks=(),
        )
        body = manifest_source(manifest) | {"chunk_count": chunks}
        await es_client.index(index=indexes["documents"], id=manifest.doc_id, document=body)
    deleted = Manifest(doc_id="fs:docs:9", revision=2, deleted=True)
    await es_client.index(
        index=indexes["documents"], id="fs:docs:9", document=manifest_source(deleted)
    )
    await es_client.indices.create(index=indexes["chunks"])
    for number in range(5):
        await es_client.index(index=indexes["chunks"], document={"n": number})
    await es_client.indices.refresh(index=",".join(indexes.values()))

    state_dir = tmp_path / "state"
    root = tmp_path / "docs"
    root.mkdir()
    state = WatchState(state_file_for(state_dir, "fs:docs"), root)
    seen = ObservedFile("x.md", 1, 1, "aa")
    state.record(
        [
            PlannedChange(Operation.UPSERT, f"fs:docs:{n}", f"{n}.md", 1, observed=seen)
            for n in (1, 2, 3)
        ],
        [],
    )
    state.close()

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mmrag", "status", "--json", "--interval", "0.5"],
        env=_environment(settings, es_url, indexes, group, state_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    lanes = {lane["lane"]: lane for lane in report["lanes"]}
    assert lanes["live"]["pending"] == 1
    assert lanes["backfill"]["pending"] == 3 - processed
    assert lanes["backfill"]["topic"] == settings.backfill_topic
    assert report["pending"] == lanes["live"]["pending"] + lanes["backfill"]["pending"]
    assert report["sources"] == [
        {
            "source": "fs:docs",
            "sent_documents": 3,
            "searchable_documents": 2,
            "chunks": 7,
            "chunks_per_s": 0.0,
            "eta_s": None,  # a document is missing and none is arriving: unknown
        }
    ]
    assert report["chunks_searchable"] == 5
    assert report["errors"] == []
    assert report["caught_up"] is False


async def test_watch_once_wait_returns_when_the_worker_group_has_processed_what_it_sent(
    kafka_bootstrap: str,
    es_url: str,
    topic_name: str,
    unique_name: str,
    indexes: dict[str, str],
    tmp_path: Path,
) -> None:
    settings = await create_test_topics(kafka_bootstrap, topic_name)
    group = f"test-{unique_name}"
    tree = tmp_path / "docs"
    tree.mkdir()
    for number in range(4):
        (tree / f"page-{number}.md").write_text(f"# Page {number}\n\nbody {number}")
    watcher = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mmrag",
        "watch",
        str(tree),
        "--once",
        "--wait",
        env=_environment(settings, es_url, indexes, group, tmp_path / "state"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def sent() -> bool:
            ends = await _end_offsets(kafka_bootstrap, settings.backfill_topic)
            return sum(ends.values()) == 4

        await wait_for(sent, timeout_s=60, what="the scan on the backfill topic")
        with pytest.raises(TimeoutError):  # it keeps waiting for the worker
            await asyncio.wait_for(asyncio.shield(watcher.wait()), 3)
        # What the worker does once it has indexed them: commit past them.
        ends = await _end_offsets(kafka_bootstrap, settings.backfill_topic)
        await _commit(kafka_bootstrap, group, ends)
        _, stderr = await asyncio.wait_for(watcher.communicate(), 30)
    finally:
        if watcher.returncode is None:
            watcher.kill()
            await watcher.wait()
    errors = stderr.decode()
    assert watcher.returncode == 0, errors
    assert "4 upserts" in errors
    assert "sent events processed" in errors
