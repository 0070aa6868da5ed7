"""The streaming indexer end to end: files → watcher → Kafka → ``mmrag worker`` → ES.

The worker runs as a real subprocess (Faust, the MiniLM text model shipped in a package,
and a tiny random CLIP: it proves the image path, not retrieval quality).
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch

from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings
from stream.watcher.watcher import Outcome
from tests.integration import documents
from tests.integration.kafka_helpers import read_records
from tests.integration.worker_process import WorkerEnvironment, WorkerProcess, wait_for


class Index:
    """Reading what the worker wrote."""

    def __init__(self, client: AsyncElasticsearch, environment: WorkerEnvironment):
        self.client = client
        self.environment = environment

    async def manifest(self, doc_id: str) -> dict[str, Any] | None:
        response = await self.client.options(ignore_status=404).get(
            index=self.environment.documents_index, id=doc_id
        )
        return response.body["_source"]["manifest"] if response.body.get("found") else None

    async def manifests(self) -> dict[str, dict[str, Any]]:
        if not await self.client.indices.exists(index=self.environment.documents_index):
            return {}
        response = await self.client.search(
            index=self.environment.documents_index, size=1000, query={"match_all": {}}
        )
        return {hit["_id"]: hit["_source"]["manifest"] for hit in response["hits"]["hits"]}

    async def chunks(self, doc_id: str) -> list[dict[str, Any]]:
        await self.client.indices.refresh(index=self.environment.chunks_alias)
        response = await self.client.search(
            index=self.environment.chunks_alias,
            query={"term": {"doc_id": doc_id}},
            size=1000,
            sort=[{"order": "asc"}],
            source_exclude_vectors=False,  # Elasticsearch 9 leaves vectors out by default
        )
        return [hit["_source"] for hit in response["hits"]["hits"]]

    async def revision_is(self, doc_id: str, revision: int) -> bool:
        manifest = await self.manifest(doc_id)
        return manifest is not None and manifest["revision"] >= revision


async def _send_folder(
    stream_settings: StreamSettings, folder: Path, state_dir: Path, source: str
) -> Outcome:
    """One reconciliation of a folder through the real watcher and producer."""
    async with ChangeProducer(
        stream_settings.kafka_bootstrap,
        stream_settings.changes_topic,
        stream_settings.dead_letter_topic,
    ) as producer:
        watcher = DirectoryWatcher(
            folder, producer, WatchSettings(state_dir=state_dir), source_name=source
        )
        try:
            return await watcher.reconcile()
        finally:
            watcher.close()


def _doc_ids_by_name(outcome_events: list[Any]) -> dict[str, str]:
    return {Path(event.new_uri or event.uri).name: event.doc_id for event in outcome_events}


async def test_files_become_searchable_and_edits_reembed_only_what_changed(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    stream_settings, environment = setup
    index = Index(es_client, environment)
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "handbook.md").write_text(documents.markdown_document(50))
    documents.pdf_with_picture(folder / "report.pdf")
    (folder / "photo.jpg").write_bytes(documents.jpeg_bytes())

    worker = WorkerProcess(environment, tmp_path / "worker-1").start()
    async with ChangeProducer(
        stream_settings.kafka_bootstrap,
        stream_settings.changes_topic,
        stream_settings.dead_letter_topic,
    ) as producer:
        watcher = DirectoryWatcher(
            folder, producer, WatchSettings(state_dir=tmp_path / "state"), source_name="w"
        )
        try:
            await worker.wait_ready()
            created = await watcher.reconcile()
            ids = _doc_ids_by_name(created.events)
            revisions = {Path(e.uri).name: e.revision for e in created.events}
            for name, doc_id in ids.items():
                await wait_for(
                    functools.partial(index.revision_is, doc_id, revisions[name]),
                    what=f"{name} indexed",
                )

            handbook = await index.chunks(ids["handbook.md"])
            assert len(handbook) >= 20
            assert {c["modality"] for c in handbook} == {"text"}
            assert all(len(c["text_vector"]) == 384 for c in handbook)
            assert all("clip_vector" in c for c in handbook)
            assert [c["order"] for c in handbook] == list(range(len(handbook)))
            assert handbook[0]["section"] is not None or handbook[1]["section"] is not None

            report = await index.chunks(ids["report.pdf"])
            pictures = [c for c in report if c["modality"] == "image"]
            assert len(pictures) == 1
            assert pictures[0]["page"] == 1
            assert pictures[0]["bbox"] == pytest.approx([100, 150, 356, 342], abs=1)
            assert {c["page"] for c in report if c["modality"] == "text"} == {1, 2}
            photo = await index.chunks(ids["photo.jpg"])
            assert [c["modality"] for c in photo] == ["image"]

            # kNN over CLIP vectors finds the photo by its own vector.
            hits = await es_client.search(
                index=environment.chunks_alias,
                knn={
                    "field": "clip_vector",
                    "query_vector": photo[0]["clip_vector"],
                    "k": 3,
                    "num_candidates": 20,
                    "filter": {"term": {"modality": "image"}},
                },
                source_includes=["doc_id"],
            )
            assert hits["hits"]["hits"][0]["_source"]["doc_id"] == ids["photo.jpg"]

            # Edit one paragraph of fifty: at most two chunks are embedded again.
            before = await worker.metrics()
            (folder / "handbook.md").write_text(documents.markdown_document(50, edited=23))
            edited = await watcher.reconcile()
            assert [e.op.value for e in edited.events] == ["upsert"]
            await wait_for(
                lambda: index.revision_is(ids["handbook.md"], edited.events[0].revision),
                what="edit indexed",
            )
            after = await worker.metrics()
            embedded = after["mmrag_chunks_embedded_total"] - before["mmrag_chunks_embedded_total"]
            reused = after["mmrag_chunks_reused_total"] - before["mmrag_chunks_reused_total"]
            assert 1 <= embedded <= 2
            assert reused >= len(handbook) - 2
            new_handbook = await index.chunks(ids["handbook.md"])
            manifest = await index.manifest(ids["handbook.md"])
            assert manifest is not None
            assert [c["chunk_id"] for c in new_handbook] == [
                c["chunk_id"] for c in manifest["chunks"]
            ]
            assert sum(1 for c in new_handbook if "Paragraph 10023" in c["text"]) >= 1
            assert not any("Paragraph 23 says" in c["text"] for c in new_handbook)

            # Rename: nothing is embedded, the uri follows.
            before = await worker.metrics()
            (folder / "photo.jpg").rename(folder / "holiday.jpg")
            moved = await watcher.reconcile()
            assert [e.op.value for e in moved.events] == ["move"]
            await wait_for(
                lambda: index.revision_is(ids["photo.jpg"], moved.events[0].revision),
                what="move indexed",
            )
            after = await worker.metrics()
            assert after["mmrag_chunks_embedded_total"] == before["mmrag_chunks_embedded_total"]
            photo_after = await index.chunks(ids["photo.jpg"])
            assert [c["uri"] for c in photo_after] == [(folder / "holiday.jpg").as_uri()]
            assert photo_after[0]["chunk_id"] == photo[0]["chunk_id"]

            # Delete: every chunk goes.
            (folder / "report.pdf").unlink()
            deleted = await watcher.reconcile()
            await wait_for(
                lambda: index.revision_is(ids["report.pdf"], deleted.events[0].revision),
                what="delete indexed",
            )
            assert await index.chunks(ids["report.pdf"]) == []
            gone = await index.manifest(ids["report.pdf"])
            assert gone is not None
            assert gone["deleted"] is True

            # Bad input: each lands in the DLQ with its reason; good documents keep flowing.
            documents.corrupt_pdf(folder / "broken.pdf")
            documents.decompression_bomb_png(folder / "bomb.png")
            (folder / "after-bad.md").write_text("# Still flowing\n\nThis one is fine.")
            bad = await watcher.reconcile()
            kafka = AIOKafkaProducer(bootstrap_servers=stream_settings.kafka_bootstrap)
            await kafka.start()
            try:
                await kafka.send_and_wait(
                    stream_settings.changes_topic,
                    b'{"schema": "mmrag.change/1", "op": "x"}',
                    key=b"k",
                )
            finally:
                await kafka.stop()
            fine = next(e for e in bad.events if e.uri.endswith("after-bad.md"))
            await wait_for(lambda: index.revision_is(fine.doc_id, fine.revision), what="fine doc")
            letters = await read_records(
                stream_settings.kafka_bootstrap, stream_settings.dead_letter_topic, expect=3
            )
            by_stage = {
                (letter["stage"], Path(letter.get("uri", "x")).name): letter for letter in letters
            }
            assert set(by_stage) == {
                ("extract", "broken.pdf"),
                ("extract", "bomb.png"),
                ("decode", "x"),
            }
            assert "pixels" in by_stage[("extract", "bomb.png")]["reason"]
            assert by_stage[("extract", "broken.pdf")]["reason"]
            assert "op" in by_stage[("decode", "x")]["reason"]
            assert by_stage[("decode", "x")]["original_base64"]

            # Once everything is processed and committed, no partition reports lag.
            async def caught_up() -> bool:
                lags = await worker.lags()
                return len(lags) == environment.partitions and not any(lags.values())

            await wait_for(caught_up, timeout_s=30, what="zero lag", workers=[worker])
        finally:
            watcher.close()
            worker.stop()

    # Replaying the whole topic from offset 0 (a new consumer group) changes nothing.
    manifests_before = await index.manifests()
    chunk_ids_before = {
        d: [c["chunk_id"] for c in m["chunks"]] for d, m in manifests_before.items()
    }
    replay_environment = WorkerEnvironment(
        **{**environment.__dict__, "app_id": environment.app_id + "-replay"}
    )
    in_topic = len(
        await read_records(stream_settings.kafka_bootstrap, stream_settings.changes_topic)
    )
    replayer = WorkerProcess(replay_environment, tmp_path / "worker-replay").start()
    try:
        await replayer.wait_ready()

        async def replayed_everything() -> bool:
            metrics = await replayer.metrics()
            handled = sum(v for k, v in metrics.items() if k.startswith("mmrag_events_total"))
            return handled >= in_topic  # every record, the malformed one included

        await wait_for(replayed_everything, what="replay")
        metrics = await replayer.metrics()
        assert metrics["mmrag_chunks_embedded_total"] == 0
        manifests_after = await index.manifests()
        assert {
            d: [c["chunk_id"] for c in m["chunks"]] for d, m in manifests_after.items()
        } == chunk_ids_before
    finally:
        replayer.stop()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_a_worker_stopped_mid_batch_loses_and_duplicates_nothing(
    how: str,
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    """SIGKILL: nothing is committed for the batch in flight. SIGTERM: a graceful stop must
    not acknowledge a batch it did not finish (the interrupted batch is redelivered)."""
    stream_settings, environment = setup
    index = Index(es_client, environment)
    folder = tmp_path / "many"
    folder.mkdir()
    total = 150
    for number in range(total):
        body = "\n\n".join(documents.paragraph(number * 7 + k, 60) for k in range(3))
        (folder / f"note-{number:03d}.md").write_text(f"# Note {number}\n\n{body}")
    emitted = await _send_folder(stream_settings, folder, tmp_path / "state", "many")
    assert len(emitted.events) == total

    first = WorkerProcess(environment, tmp_path / "worker-a", name="first").start()
    try:
        await first.wait_ready()

        async def some_indexed() -> bool:
            return len(await index.manifests()) >= 10

        await wait_for(some_indexed, what="the first batches")
    finally:
        if how == "SIGKILL":
            first.kill()  # no shutdown, no commit of what is in flight
        else:
            first.stop()  # graceful: commits what was acknowledged, nothing more
    indexed_at_kill = len(await index.manifests())
    assert indexed_at_kill < total, "the kill came too late to test anything"

    second = WorkerProcess(environment, tmp_path / "worker-b", name="second").start()
    try:
        await second.wait_ready()

        most_lag = 0.0

        async def all_indexed() -> bool:
            nonlocal most_lag
            second.supervise()  # a stalled worker exits; its supervisor restarts it
            most_lag = max([most_lag, *(await second.lags()).values()])
            return len(await index.manifests()) == total

        await wait_for(
            all_indexed,
            timeout_s=180,
            what="every document after the restart",
            workers=[first, second],
        )
    finally:
        second.stop()
    assert most_lag > 0, "the backlog never showed as lag"

    manifests = await index.manifests()
    expected = {chunk["chunk_id"] for m in manifests.values() for chunk in m["chunks"]}
    await es_client.indices.refresh(index=environment.chunks_alias)
    stored = await es_client.search(
        index=environment.chunks_alias, size=10_000, source=False, query={"match_all": {}}
    )
    stored_ids = [hit["_id"] for hit in stored["hits"]["hits"]]
    assert len(stored_ids) == len(set(stored_ids))
    assert set(stored_ids) == expected  # none lost, none left over
    assert all(len(m["chunks"]) >= 2 for m in manifests.values())


async def test_two_workers_split_partitions_and_a_rebalance_loses_nothing(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    stream_settings, environment = setup
    index = Index(es_client, environment)
    folder = tmp_path / "shared"
    folder.mkdir()
    total = 90
    for number in range(total):
        (folder / f"doc-{number:03d}.txt").write_text(documents.paragraph(number, 70))

    workers = [
        WorkerProcess(environment, tmp_path / f"member-{n}", name=f"member-{n}").start()
        for n in range(2)
    ]
    try:
        await asyncio.gather(*(worker.wait_ready() for worker in workers))

        async def partitions_split() -> bool:  # both in the group before any event is sent
            owned = [await worker.assigned_partitions() for worker in workers]
            return all(owned) and set().union(*owned) == set(range(environment.partitions))

        await wait_for(partitions_split, what="both members to own partitions", workers=workers)
        await _send_folder(stream_settings, folder, tmp_path / "state", "s")

        async def both_busy() -> bool:
            counts = [await worker.metrics() for worker in workers]
            return all(m.get("mmrag_events_total{outcome=indexed}", 0) > 0 for m in counts)

        await wait_for(both_busy, what="both group members to index events")
        workers[0].stop()  # leaves the group: its partitions move to the other member

        async def all_indexed() -> bool:
            return len(await index.manifests()) == total

        await wait_for(
            all_indexed, timeout_s=120, what="every document after the rebalance", workers=workers
        )
    finally:
        for worker in workers:
            worker.stop()
    manifests = await index.manifests()
    assert all(m["revision"] > 0 and len(m["chunks"]) >= 1 for m in manifests.values())
