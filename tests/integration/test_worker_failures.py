"""How the worker meets failures, end to end: real Kafka, real Elasticsearch, ``mmrag
worker`` as a subprocess.

- a bad document fails alone, with its stage, and the rest of its batch is indexed;
- a closed index (a restore, maintenance) is waited for, never read as "not found";
- a remote source that keeps failing dead-letters its document only (stage ``fetch``), and
  ``mmrag dlq replay`` indexes it once the source is back;
- ``watch --resend`` after chunks were lost writes them again, embedding only those;
- dead letters of large events reach the dead-letter topic (cut down when over the limit).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from elasticsearch import AsyncElasticsearch

from indexer.encoders import Encoders, EncoderSettings
from indexer.encoders.loading import load_encoders
from indexer.errors import StoreUnavailable
from indexer.events import ChangeEvent
from indexer.manifest import Manifest
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from indexer.store.mappings import VectorSpace
from indexer.store.records import DocumentWrite
from stream.producer import MAX_RECORD_BYTES, ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings
from tests.integration import documents
from tests.integration.kafka_helpers import read_records
from tests.integration.pipeline_helpers import failed_outcomes
from tests.integration.test_worker import Index
from tests.integration.worker_process import WorkerEnvironment, WorkerProcess, wait_for


def _producer(settings: StreamSettings) -> ChangeProducer:
    return ChangeProducer(
        settings.kafka_bootstrap, settings.changes_topic, settings.dead_letter_topic
    )


def _inline(doc_id: str, text: str, revision: int, **extra: Any) -> ChangeEvent:
    return ChangeEvent.model_validate(
        {
            "event_id": f"{doc_id}-{revision}",
            "source": "cms:failures",
            "doc_id": doc_id,
            "op": "upsert",
            "uri": f"https://cms.example/{doc_id}",
            "revision": revision,
            "content_type": "text/plain",
            "text": text,
            "emitted_at": datetime.now(UTC),
            **extra,
        }
    )


async def _metric(worker: WorkerProcess, name: str) -> float:
    return (await worker.metrics()).get(name, 0.0)


def _stored_ids(hits: Any) -> set[str]:
    return {hit["_id"] for hit in hits["hits"]["hits"]}


async def _chunk_ids(es_client: AsyncElasticsearch, alias: str) -> set[str]:
    await es_client.indices.refresh(index=alias)
    found = await es_client.search(index=alias, size=10_000, source=False)
    return _stored_ids(found)


async def test_a_bad_document_fails_alone_and_large_dead_letters_reach_the_topic(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    """Before: the corrupt PDF renamed before the worker saw it raised an AssertionError
    and every event of its batch was dead-lettered as ``internal``; a dead letter of an
    800 KB event exceeded Faust's 1,000,000-byte producer limit."""
    stream_settings, environment = setup
    index = Index(es_client, environment)
    folder = tmp_path / "docs"
    folder.mkdir()
    for number in range(4):
        (folder / f"fine-{number}.md").write_text(
            f"# Fine {number}\n\n{documents.paragraph(number)}"
        )
    documents.corrupt_pdf(folder / "broken.pdf")
    async with _producer(stream_settings) as producer:
        watcher = DirectoryWatcher(
            folder, producer, WatchSettings(state_dir=tmp_path / "state"), source_name="f"
        )
        try:
            created = await watcher.reconcile()
            (folder / "broken.pdf").rename(folder / "renamed.pdf")
            moved = await watcher.reconcile()
        finally:
            watcher.close()
        assert [e.op.value for e in moved.events] == ["move"]
        big_failing = _inline(
            "big-pdf", "x" * 800_000, 1, content_type="application/pdf"
        )  # inline "PDF" of 800 KB: fails extraction, a 1.07 MB letter
        await producer.send(big_failing)
    raw = AIOKafkaProducer(
        bootstrap_servers=stream_settings.kafka_bootstrap, max_request_size=MAX_RECORD_BYTES
    )
    await raw.start()
    try:  # malformed events: one of 800 KB, one too large for its letter to keep it
        await raw.send_and_wait(stream_settings.changes_topic, b"{" + b"a" * 800_000, key=b"m1")
        await raw.send_and_wait(stream_settings.changes_topic, b"[" + b"b" * 3_500_000, key=b"m2")
    finally:
        await raw.stop()

    # Everything was sent before the worker started: the PDF's upsert and move share a batch.
    worker = WorkerProcess(environment, tmp_path / "worker").start()
    try:
        await worker.wait_ready()
        fine = [e for e in created.events if Path(e.uri).name.startswith("fine-")]
        for event in fine:
            await wait_for(
                functools.partial(index.revision_is, event.doc_id, event.revision),
                what=f"{event.uri} indexed",
                workers=[worker],
            )
        letters = await read_records(
            stream_settings.kafka_bootstrap,
            stream_settings.dead_letter_topic,
            expect=5,
            timeout_s=60,
        )
    finally:
        worker.stop()

    assert {letter["stage"] for letter in letters} <= {"extract", "decode"}
    broken_id = moved.events[0].doc_id
    of_pdf = [letter for letter in letters if letter.get("doc_id") == broken_id]
    assert len(of_pdf) == 2  # the upsert and the move, nothing else of the batch
    assert all(letter["stage"] == "extract" for letter in of_pdf)
    assert any("moves a document that failed" in letter["reason"] for letter in of_pdf)
    assert await index.manifest(broken_id) is None

    big = next(letter for letter in letters if letter.get("doc_id") == "big-pdf")
    assert big["stage"] == "extract"
    assert len(json.loads(_original(big))["text"]) == 800_000  # kept whole: replayable
    decoded = [letter for letter in letters if letter["stage"] == "decode"]
    assert len(decoded) == 2
    by_key = {letter["original_key"]: letter for letter in decoded}
    assert len(_original(by_key["m1"])) == 800_001
    assert "original_base64" not in by_key["m2"]
    assert "original event of 3500001 bytes left out" in by_key["m2"]["reason"]
    assert f"{stream_settings.changes_topic}:" in by_key["m2"]["reason"]

    # The manifest changelog takes records as large as the change topic does.
    admin = AIOKafkaAdminClient(bootstrap_servers=stream_settings.kafka_bootstrap)
    await admin.start()
    try:
        changelog = f"{environment.app_id}-manifests-changelog"
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, changelog, {"max.message.bytes": None})]
        )
    finally:
        await admin.close()
    entries = described[0].resources[0][4]
    assert {entry[0]: entry[1] for entry in entries}["max.message.bytes"] == str(MAX_RECORD_BYTES)


def _original(letter: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(letter["original_base64"])


async def test_a_closed_index_is_an_outage_not_a_missing_document(
    es_url: str, es_client: AsyncElasticsearch, unique_name: str
) -> None:
    """Before: ``mget`` items carrying ``index_closed_exception`` read as "not found"."""
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-{unique_name}-chunks",
        documents_index=f"test-{unique_name}-documents",
    )
    store = ElasticsearchStore(settings)
    try:
        generation = await store.ensure_indexes(VectorSpace("text-model", 4, None, None))
        manifest = Manifest(doc_id="known", revision=3)
        assert await store.apply([DocumentWrite("known", [], manifest)]) == {}
        assert (await store.load_manifests(["known"]))["known"].revision == 3
        await es_client.indices.close(index=settings.documents_index)
        with pytest.raises(StoreUnavailable, match="index_closed_exception"):
            await store.load_manifests(["known", "other"])
        await es_client.indices.close(index=generation)
        with pytest.raises(StoreUnavailable, match="index_closed_exception"):
            await store.existing_chunk_ids(["a", "b"])
        await es_client.indices.open(index=f"{settings.documents_index},{generation}")
        assert set(await store.load_manifests(["known", "other"])) == {"known"}
    finally:
        await store.close()
        created = await es_client.indices.get(index=f"test-{unique_name}-*")
        if created.body:
            await es_client.indices.delete(index=",".join(created.body))


class RefusingTextModel:
    """The real text model, except that it raises on texts holding ``marker``: a model that
    crashes on one document's input (an encoder bug, a tokenizer edge case)."""

    def __init__(self, real: Any, marker: str) -> None:
        self._real = real
        self._marker = marker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def embed_texts(self, texts: Sequence[str]) -> Any:
        if any(self._marker in text for text in texts):
            raise RuntimeError("the model cannot take this input")
        return self._real.embed_texts(texts)


async def test_a_document_that_cannot_be_embedded_fails_alone_at_encode(
    es_url: str, es_client: AsyncElasticsearch, unique_name: str
) -> None:
    """Before: the encoder's exception ended the whole batch (every event ``internal``)."""
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-{unique_name}-chunks",
        documents_index=f"test-{unique_name}-documents",
    )
    real = load_encoders(EncoderSettings(clip_model="", clip_required=False)).text
    encoders = Encoders(text=cast(Any, RefusingTextModel(real, "UNEMBEDDABLE")), clip=None)
    store = ElasticsearchStore(settings)
    pipeline = IndexingPipeline(settings, store, encoders, ContentReader(settings))
    try:
        await pipeline.setup()
        events = [
            _inline("good-1", documents.paragraph(1), 1),
            _inline("bad", f"{documents.paragraph(2)} UNEMBEDDABLE", 1),
            _inline("good-2", documents.paragraph(3), 1),
        ]
        result = await pipeline.process(events)
        outcomes = {o.event.doc_id: (o.status, o.stage) for o in result.outcomes}
        assert outcomes == {
            "good-1": ("indexed", None),
            "bad": ("failed", "encode"),
            "good-2": ("indexed", None),
        }
        assert "cannot take this input" in (failed_outcomes(result)[0].reason or "")
        assert set(result.manifests) == {"good-1", "good-2"}
        await es_client.indices.refresh(index=settings.chunks_alias)
        stored = await es_client.search(
            index=settings.chunks_alias, size=100, source_includes=["doc_id"]
        )
        assert {hit["_source"]["doc_id"] for hit in stored["hits"]["hits"]} == {
            "good-1",
            "good-2",
        }
        assert set(await store.load_manifests(["good-1", "bad", "good-2"])) == {
            "good-1",
            "good-2",
        }
    finally:
        await pipeline.close()
        created = await es_client.indices.get(index=f"test-{unique_name}-*")
        if created.body:
            await es_client.indices.delete(index=",".join(created.body))


async def test_the_worker_waits_out_a_closed_chunk_index_and_embeds_only_the_edit(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    """Before: the closed index's chunks read as absent (all re-embedded) and the writes
    failed with 400s, so the edit was dead-lettered."""
    stream_settings, environment = setup
    index = Index(es_client, environment)
    paragraphs = [documents.paragraph(seed, 60) for seed in range(12)]
    worker = WorkerProcess(environment, tmp_path / "worker").start()
    try:
        await worker.wait_ready()
        async with _producer(stream_settings) as producer:
            await producer.send(_inline("doc", "\n\n".join(paragraphs), 1))
            await wait_for(lambda: index.revision_is("doc", 1), what="first version")
            generation = next(
                iter((await es_client.indices.get_alias(name=environment.chunks_alias)).body)
            )
            await es_client.indices.close(index=generation)
            before = await worker.metrics()
            paragraphs[5] = documents.paragraph(500, 60)
            await producer.send(_inline("doc", "\n\n".join(paragraphs), 2))

            async def retried() -> bool:
                return await _metric(worker, "mmrag_backend_retries_total") > 0

            await wait_for(retried, what="the worker to retry", workers=[worker])
            await es_client.indices.open(index=generation)
            await wait_for(lambda: index.revision_is("doc", 2), what="the edit", workers=[worker])
        after = await worker.metrics()
    finally:
        worker.stop()
    embedded = after["mmrag_chunks_embedded_total"] - before["mmrag_chunks_embedded_total"]
    assert 1 <= embedded <= 2
    assert after.get("mmrag_dead_letters_total{stage=extract}", 0) == 0
    assert after.get("mmrag_dead_letters_total{stage=store}", 0) == 0
    manifest = await index.manifest("doc")
    assert manifest is not None
    expected = {chunk["chunk_id"] for chunk in manifest["chunks"]}
    assert await _chunk_ids(es_client, environment.chunks_alias) == expected


class FlakySite:
    """A real HTTP server whose ``/flaky.md`` answers 503 until it is ``healed``."""

    def __init__(self) -> None:
        self.down = True
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                if self.path == "/flaky.md" and site.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = f"# {self.path}\n\n{documents.paragraph(len(self.path), 60)}".encode()
                self.send_response(200)
                self.send_header("content-type", "text/markdown")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FlakySite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky_site() -> Iterator[FlakySite]:
    with FlakySite() as site:
        yield site


def _remote(doc_id: str, url: str, revision: int = 1) -> ChangeEvent:
    return ChangeEvent.model_validate(
        {
            "event_id": f"{doc_id}-{revision}",
            "source": "cms:remote",
            "doc_id": doc_id,
            "op": "upsert",
            "uri": url,
            "revision": revision,
            "content_type": "text/markdown",
            "emitted_at": datetime.now(UTC),
        }
    )


async def test_a_failing_source_dead_letters_its_document_only_and_replay_indexes_it(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    flaky_site: FlakySite,
    tmp_path: Path,
) -> None:
    """Before: one 503 source retried the whole batch for ~2 minutes, exited 70, and Kafka
    redelivered the same batch forever: the healthy documents beside it never arrived."""
    stream_settings, environment = setup
    index = Index(es_client, environment)
    extra = {
        "MMRAG_ASSET_ALLOWED_HOSTS": '["127.0.0.1"]',
        "MMRAG_WORKER_SOURCE_ATTEMPTS": "3",
        "MMRAG_WORKER_SOURCE_RETRY_DELAY_S": "0.2",
    }
    events = [
        _remote("healthy-1", flaky_site.url("/one.md")),
        _remote("flaky", flaky_site.url("/flaky.md")),
        _remote("healthy-2", flaky_site.url("/two.md")),
        _inline("inline", documents.paragraph(7), 1),
    ]
    async with _producer(stream_settings) as producer:
        await producer.send_many(events)  # before the worker runs: one batch per partition
    worker = WorkerProcess(environment, tmp_path / "worker", extra=extra).start()
    try:
        await worker.wait_ready()
        for doc_id in ("healthy-1", "healthy-2", "inline"):
            await wait_for(
                functools.partial(index.revision_is, doc_id, 1),
                what=f"{doc_id} indexed",
                workers=[worker],
            )
        letters = await read_records(
            stream_settings.kafka_bootstrap, stream_settings.dead_letter_topic, expect=1
        )
        assert [(letter["stage"], letter["doc_id"]) for letter in letters] == [("fetch", "flaky")]
        assert "503" in letters[0]["reason"]
        assert flaky_site.requests.count("/flaky.md") == 3  # tried three times, then let go
        assert await index.manifest("flaky") is None
        assert worker.supervise() is False  # it never gave up on the batch

        flaky_site.down = False
        replay = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "mmrag", "dlq", "replay", "--stage", "fetch"],
            env={**os.environ, **environment.variables(0), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert replay.returncode == 0, replay.stderr
        await wait_for(
            lambda: index.revision_is("flaky", 1), what="the replayed document", workers=[worker]
        )
    finally:
        worker.stop()
    assert len(await index.chunks("flaky")) >= 1


async def _resend(folder: Path, state: Path, environment: WorkerEnvironment) -> str:
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "mmrag",
            "watch",
            str(folder),
            "--once",
            "--resend",
            "--source",
            "r",
        ],
        env={**os.environ, **environment.variables(0), "MMRAG_WATCH_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


async def test_resend_after_chunks_were_lost_restores_them_embedding_only_those(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    """Before: the manifests survived, so every resent file came out ``unchanged`` and no
    chunk was written: the lost chunks stayed lost."""
    _, environment = setup
    index = Index(es_client, environment)
    folder = tmp_path / "docs"
    folder.mkdir()
    for number in range(3):
        body = "\n\n".join(documents.paragraph(number * 10 + k, 60) for k in range(6))
        (folder / f"note-{number}.md").write_text(f"# Note {number}\n\n{body}")
    state = tmp_path / "state"

    async def all_revisions(after: dict[str, Any]) -> bool:
        manifests = await index.manifests()
        return len(manifests) == 3 and all(
            m["revision"] > after.get(doc_id, {}).get("revision", -1)
            for doc_id, m in manifests.items()
        )

    worker = WorkerProcess(environment, tmp_path / "worker-1").start()
    try:
        await worker.wait_ready()
        await _resend(folder, state, environment)  # the first send: everything is new
        await wait_for(functools.partial(all_revisions, {}), what="first indexing")
        first = await index.manifests()
        expected = {c["chunk_id"] for m in first.values() for c in m["chunks"]}
        assert await _chunk_ids(es_client, environment.chunks_alias) == expected

        # Some chunks are lost (a partial restore, a careless delete): resend brings them back.
        lost = sorted(expected)[:3]
        for chunk_id in lost:
            await es_client.delete(index=environment.chunks_alias, id=chunk_id, refresh=True)
        before = await worker.metrics()
        await _resend(folder, state, environment)
        await wait_for(functools.partial(all_revisions, first), what="resend", workers=[worker])
        after = await worker.metrics()
        assert await _chunk_ids(es_client, environment.chunks_alias) == expected
        embedded = after["mmrag_chunks_embedded_total"] - before["mmrag_chunks_embedded_total"]
        assert embedded == len(lost)
        restored = after.get("mmrag_events_total{outcome=restored}", 0) - before.get(
            "mmrag_events_total{outcome=restored}", 0
        )
        lost_documents = {d for d, m in first.items() for c in m["chunks"] if c["chunk_id"] in lost}
        assert restored == len(lost_documents)
    finally:
        worker.stop()

    # The whole chunk index is lost; the manifests (and the worker's table) survive.
    second_round = await index.manifests()
    generations = (await es_client.indices.get_alias(name=environment.chunks_alias)).body
    await es_client.indices.delete(index=",".join(generations))
    worker = WorkerProcess(environment, tmp_path / "worker-2").start()
    try:
        await worker.wait_ready()  # creates an empty generation
        await _resend(folder, state, environment)
        await wait_for(
            functools.partial(all_revisions, second_round), what="second resend", workers=[worker]
        )
        metrics = await worker.metrics()
    finally:
        worker.stop()
    assert await _chunk_ids(es_client, environment.chunks_alias) == expected
    assert metrics["mmrag_chunks_embedded_total"] == len(expected)
