"""A chunker change end to end, as a user runs it: the real ``mmrag worker`` indexes a
watched folder and a CMS entry whose text came inline; ``mmrag generations build
--chunk-max-tokens`` makes a generation with its own documents index that the worker
fills from the sources (the build republishes every document on the backfill topic and
reconciles) while files change and go and the query API keeps answering; then
``promote`` through the evaluation gate and ``rollback``. At each step every document's
chunks in each generation are exactly its chunking group's manifest; no search fails and
no search returns a file once its deletion was indexed."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch, NotFoundError

from indexer.encoders.base import Encoders
from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.events import ChangeEvent, Operation
from indexer.generations.copying import read_manifests
from indexer.generations.elastic_io import pages
from indexer.generations.registry import GenerationRegistry
from indexer.generations.republish import Action, DocumentState, decide
from indexer.settings import IndexerSettings
from stream.lanes import Lane
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings
from tests.integration import documents
from tests.integration.generation_helpers import (
    assert_matches_manifests,
    chunks_by_document,
    generations_command,
    in_process_api,
)
from tests.integration.worker_process import WorkerEnvironment, WorkerProcess, wait_for

TOPICS = {
    "vacuum.md": ("Routine vacuuming", "VACUUM reclaims storage occupied by dead tuples."),
    "indexes.md": ("B-tree indexes", "A B-tree index speeds up range lookups on sorted data."),
    "replication.md": ("Streaming replication", "A standby replays write-ahead log records."),
    "locks.md": ("Explicit locking", "SELECT FOR UPDATE blocks concurrent writers of rows."),
}
QUESTIONS = [
    ("q1", "reclaim storage occupied by dead tuples with VACUUM", "vacuum.md"),
    ("q2", "B-tree index speeds up range lookups on sorted data", "indexes.md"),
    ("q3", "standby replays write-ahead log records", "replication.md"),
]
VICTIMS = 6
CMS_WORD = "marmalade"
CHUNK_TOKENS, OVERLAP = 48, 8


def _write_folder(folder: Path) -> None:
    folder.mkdir()
    for number, (name, (title, lead)) in enumerate(TOPICS.items()):
        body = "\n\n".join(documents.paragraph(100 * number + n, 60) for n in range(4))
        (folder / name).write_text(f"# {title}\n\n{lead}\n\n{body}\n")
    for number in range(VICTIMS):
        (folder / f"victim-{number}.md").write_text(
            f"# Victim {number}\n\nzebraword{number} quokka obsolete page {number}.\n\n"
            + documents.paragraph(900 + number, 50)
        )


def _cms_event() -> ChangeEvent:
    text = f"# Release notes\n\nThe {CMS_WORD} release ships a faster planner.\n\n" + "\n\n".join(
        documents.paragraph(700 + n, 50) for n in range(3)
    )
    return ChangeEvent(
        event_id="cms-release-1",
        source="cms:blog",
        doc_id="cms:blog:release",
        op=Operation.UPSERT,
        uri="https://cms.example/posts/release",
        revision=1,
        content_type="text/markdown",
        text=text,
        emitted_at=datetime.now(UTC),
    )


async def _states(es: AsyncElasticsearch, index: str) -> dict[str, DocumentState]:
    await es.indices.refresh(index=index)
    found = {}
    async for hits in pages(es, index, "doc_id", size=1000, source=["revision", "deleted"]):
        found.update({str(h["_id"]): DocumentState.from_source(h["_source"]) for h in hits})
    return found


async def _in_sync(es: AsyncElasticsearch, live: str, other: str) -> bool:
    a, b = await _states(es, live), await _states(es, other)
    return all(decide(a.get(d), b.get(d)) is Action.IN_SYNC for d in set(a) | set(b))


async def _gone_everywhere(es: AsyncElasticsearch, indexes: list[str], uri: str) -> bool:
    """Deleted in the first (original) group, and nowhere present in the others."""
    for position, index in enumerate(indexes):
        try:
            await es.indices.refresh(index=index)
        except NotFoundError:
            continue
        response = await es.search(
            index=index, query={"term": {"uri": uri}}, source_includes=["deleted"]
        )
        hits = response["hits"]["hits"]
        if position == 0 and not hits:
            return False
        if any(not hit["_source"].get("deleted") for hit in hits):
            return False
    return True


async def _exact(es: AsyncElasticsearch, documents_index: str, index: str) -> int:
    """Every document's chunks in ``index`` are exactly its manifest in ``documents_index``
    (what differs is in the message); returns how many documents have chunks."""
    try:
        return await assert_matches_manifests(es, documents_index, index)
    except AssertionError:
        held = await chunks_by_document(es, index)
        doc_ids = [d async for d in _doc_ids(es, documents_index)]
        manifests = await read_manifests(es, documents_index, doc_ids)
        differ: dict[str, Any] = {
            d: (m.revision, m.deleted, sorted(set(m.chunk_ids) ^ held.get(d, set())))
            for d, m in manifests.items()
            if (set() if m.deleted else set(m.chunk_ids)) != held.get(d, set())
        }
        orphans = [d for d in held if d not in manifests]
        chunks = await es.search(
            index=index,
            query={"terms": {"doc_id": orphans}},
            size=100,
            source_includes=["doc_id", "uri", "revision"],
        )
        differ["without a manifest"] = [h["_source"] for h in chunks["hits"]["hits"]]
        raise AssertionError(f"{index} differs from {documents_index}: {differ}") from None


async def _doc_ids(es: AsyncElasticsearch, index: str) -> AsyncIterator[str]:
    async for hits in pages(es, index, "doc_id", size=1000):
        for hit in hits:
            yield str(hit["_id"])


@pytest.fixture(scope="module")
def minilm_and_clip(tiny_random_clip: Path) -> Encoders:
    return load_encoders(EncoderSettings(clip_model=str(tiny_random_clip), encoder_runtime="torch"))


async def test_a_chunker_change_is_built_by_the_worker_promoted_and_rolled_back(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    minilm_and_clip: Encoders,
    tmp_path: Path,
) -> None:
    stream_settings, environment = setup
    es = es_client
    folder = tmp_path / "watched"
    _write_folder(folder)
    alias, shared = environment.chunks_alias, environment.documents_index
    own = f"{shared}-000002"
    registry = GenerationRegistry(es, alias)
    eval_set = tmp_path / "questions.jsonl"
    eval_set.write_text(
        "".join(
            json.dumps({"id": q, "question": text, "expected": [name], "split": "held"}) + "\n"
            for q, text, name in QUESTIONS
        )
    )
    settings = IndexerSettings(
        elasticsearch_url=environment.elasticsearch_url,
        chunks_alias=alias,
        documents_index=shared,
    )
    total = len(TOPICS) + VICTIMS + 1

    worker = WorkerProcess(environment, tmp_path / "worker").start()
    producer = ChangeProducer.from_settings(stream_settings)
    await producer.start()
    watcher = DirectoryWatcher(
        folder, producer, WatchSettings(state_dir=tmp_path / "state"), source_name="w"
    )

    async def indexed(count: int) -> bool:
        states = await _states(es, shared)
        return sum(1 for s in states.values() if not s.deleted) == count

    deleted_uris: set[str] = set()
    failed_searches: list[str] = []
    leaks: list[str] = []
    victims_seen: set[str] = set()
    searches = rounds = 0
    stop = asyncio.Event()
    writing = asyncio.Event()
    in_round = asyncio.Lock()

    async def keep_searching(client: httpx.AsyncClient) -> None:
        nonlocal searches
        queries = [text for _, text, _ in QUESTIONS] + [
            f"zebraword{n} quokka obsolete" for n in range(VICTIMS)
        ]
        while not stop.is_set():
            for query in queries:
                gone = set(deleted_uris)  # deletions indexed before asking
                response = await client.post("/search", json={"query": query, "k": 10})
                searches += 1
                if response.status_code != 200:
                    failed_searches.append(f"{response.status_code}: {response.text}")
                    continue
                uris = [hit["uri"] for hit in response.json()["hits"]]
                leaks.extend(uri for uri in uris if uri in gone)
                victims_seen.update(uri for uri in uris if "/victim-" in uri)
                await asyncio.sleep(0.1)

    async def keep_writing() -> None:
        """While ``writing`` is set: a round edits a page, deletes a victim and adds a
        page, then waits until the live group has them."""
        nonlocal rounds
        victim = 0
        while not stop.is_set():
            await writing.wait()
            if stop.is_set():
                return
            async with in_round:
                edited = folder / "locks.md"
                edited.write_text(
                    edited.read_text() + f"\nEdit {rounds}: {documents.paragraph(rounds)}\n"
                )
                (folder / f"fresh-{rounds}.md").write_text(
                    f"# Fresh {rounds}\n\nAdded in round {rounds}."
                )
                gone_uri = None
                if victim < VICTIMS:
                    path = folder / f"victim-{victim}.md"
                    path.unlink()
                    gone_uri = path.as_uri()
                    victim += 1
                await watcher.reconcile()
                if gone_uri is not None:
                    check = functools.partial(_gone_everywhere, es, [shared, own], gone_uri)
                    await wait_for(check, 120, f"{gone_uri} deleted", [worker])
                    deleted_uris.add(gone_uri)
                rounds += 1
            await asyncio.sleep(1.0)

    async def caught_up(live_documents: str, other_documents: str) -> bool:
        """The worker has everything: no lag on either lane, every file (and the CMS
        entry) indexed in the live group, and both groups in sync."""
        for lane in ("live", "backfill"):
            lags = await worker.lags(lane)
            if not lags or any(lags.values()):
                return False
        states = await _states(es, live_documents)
        present = sum(1 for state in states.values() if not state.deleted)
        if present != len(list(folder.glob("*.md"))) + 1:
            return False
        return await _in_sync(es, live_documents, other_documents)

    async def quiet(live_documents: str, other_documents: str) -> None:
        writing.clear()
        async with in_round:  # a round in progress finishes first
            pass
        check = functools.partial(caught_up, live_documents, other_documents)
        await wait_for(check, 180, "the worker caught up in both groups", [worker])

    try:
        await worker.wait_ready()
        await watcher.reconcile()
        await producer.send(_cms_event(), lane=Lane.LIVE)
        await wait_for(functools.partial(indexed, total), 240, "folder indexed", [worker])
        first = await registry.live_name()
        assert first is not None
        assert await _exact(es, shared, first) == total

        async with in_process_api(settings, minilm_and_clip) as (client, _app):
            reader = asyncio.create_task(keep_searching(client))
            writer = asyncio.create_task(keep_writing())
            writing.set()
            rounds_before = rounds
            built = await asyncio.to_thread(
                generations_command,
                environment,
                "build",
                "--chunk-max-tokens",
                str(CHUNK_TOKENS),
                "--chunk-overlap-tokens",
                str(OVERLAP),
                "--page-size",
                "3",
                "--grace-s",
                "3",
                "--timeout-s",
                "300",
            )
            assert built.returncode == 0, built.stderr + built.stdout
            assert "re-indexed by the worker" in built.stdout
            assert rounds > rounds_before  # files changed and went during the build
            second = (await registry.list())[-1]
            assert second.name != first
            assert second.meta.state == "ready"
            assert second.meta.documents_index == own
            assert second.meta.config.chunk_max_tokens == CHUNK_TOKENS
            assert second.meta.build.finished

            await quiet(shared, own)  # step 1: built, both groups exact
            documents_first = await _exact(es, shared, first)
            assert await _exact(es, own, second.name) == documents_first
            old_chunks = (await es.count(index=first))["count"]
            new_chunks = (await es.count(index=second.name))["count"]
            assert new_chunks > old_chunks  # smaller chunks, more of them
            response = await es.search(index=own, size=100, source_includes=["manifest"])
            versions = {
                h["_source"]["manifest"]["pipeline_version"]
                for h in response["hits"]["hits"]
                if not h["_source"]["manifest"]["deleted"]
            }
            assert versions
            assert all(f":{CHUNK_TOKENS}:{OVERLAP}:" in v for v in versions)
            cms = await es.search(
                index=second.name, query={"term": {"doc_id": "cms:blog:release"}}, size=20
            )
            cms_text = " ".join(h["_source"]["text"] for h in cms["hits"]["hits"])
            assert CMS_WORD in cms_text  # the inline text, rebuilt from the stored chunks

            writing.set()  # step 2: promote through the gate while files change
            promoted = await asyncio.to_thread(
                generations_command,
                environment,
                "promote",
                "--eval-set",
                str(eval_set),
                "--tolerance",
                "0.5",
                "--grace-s",
                "3",
            )
            assert promoted.returncode == 0, promoted.stderr + promoted.stdout
            assert "gate passed" in promoted.stdout
            assert await registry.live_name() == second.name
            await quiet(own, shared)
            assert await _exact(es, own, second.name) > 0
            assert await _exact(es, shared, first) > 0

            writing.set()  # step 3: roll back while files change
            back = await asyncio.to_thread(
                generations_command, environment, "rollback", "--grace-s", "3"
            )
            assert back.returncode == 0, back.stderr + back.stdout
            assert await registry.live_name() == first
            await quiet(shared, own)
            assert await _exact(es, shared, first) > 0
            assert await _exact(es, own, second.name) > 0
            await asyncio.sleep(6)  # the API's alias cache, then a last round of searches
            stop.set()
            writing.set()
            await asyncio.gather(reader, writer)

        assert searches > 0
        assert failed_searches == []
        assert leaks == []
        assert deleted_uris
        assert victims_seen  # so a leak could have been seen
        listed = json.loads(generations_command(environment, "list", "--json").stdout)
        assert [row["config"]["chunk_max_tokens"] for row in listed][-1] == CHUNK_TOKENS
        dropped = generations_command(environment, "drop", second.name)
        assert dropped.returncode == 0, dropped.stderr + dropped.stdout
        assert not await es.indices.exists(index=own)
    finally:
        stop.set()
        writing.set()
        watcher.close()
        await producer.stop()
        worker.stop()
