"""Index generations end to end, as a user runs them: the real ``mmrag worker`` indexes a
watched folder (a Markdown handbook, a PDF with a picture, a photo), ``mmrag generations
build`` makes a generation for another tiny random CLIP while files change and go, then
``promote`` and ``rollback`` run as commands; the worker keeps every generation exact
(dual write, with the new CLIP model's vectors), image chunks get vectors of the new CLIP
model from images read again (the PDF's picture and the photo), and a worker restarted
after the promotion embeds with the promoted generation's models."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
from elasticsearch import AsyncElasticsearch

from indexer.encoders.tiny_clip import build_tiny_random_clip
from indexer.generations.registry import GenerationRegistry
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings
from tests.integration import documents
from tests.integration.generation_helpers import assert_matches_manifests, generations_command
from tests.integration.worker_process import WorkerEnvironment, WorkerProcess, wait_for


async def _manifest_revisions(es: AsyncElasticsearch, documents_index: str) -> dict[str, Any]:
    await es.indices.refresh(index=documents_index)
    response = await es.search(
        index=documents_index, size=100, source_includes=["revision", "deleted"]
    )
    return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}


async def test_worker_and_commands_build_promote_and_roll_back(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    stream_settings, environment = setup
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "handbook.md").write_text(documents.markdown_document(12))
    (folder / "notes.md").write_text("# Notes\n\nShort notes that will be deleted.")
    (folder / "extra.md").write_text("# Extra\n\nA page that will be edited.")
    documents.pdf_with_picture(folder / "report.pdf")
    (folder / "photo.jpg").write_bytes(documents.jpeg_bytes())
    other_clip = build_tiny_random_clip(tmp_path / "other-clip", seed=11)
    alias, documents_index = environment.chunks_alias, environment.documents_index
    registry = GenerationRegistry(es_client, alias)

    worker = WorkerProcess(environment, tmp_path / "worker-1").start()
    async with ChangeProducer(
        stream_settings.kafka_bootstrap,
        stream_settings.changes_topic,
        stream_settings.dead_letter_topic,
        backfill_topic=stream_settings.backfill_topic,
    ) as producer:
        watcher = DirectoryWatcher(
            folder, producer, WatchSettings(state_dir=tmp_path / "state"), source_name="w"
        )

        async def settled(count: int) -> bool:
            manifests = await _manifest_revisions(es_client, documents_index)
            return len(manifests) == count

        try:
            await worker.wait_ready()
            await watcher.reconcile()
            await wait_for(functools.partial(settled, 5), 180, "folder indexed", [worker])
            first = await registry.live_name()
            assert first is not None
            assert await assert_matches_manifests(es_client, documents_index, first) == 5

            build = asyncio.create_task(
                asyncio.to_thread(
                    generations_command,
                    environment,
                    "build",
                    "--clip-model",
                    str(other_clip),
                    "--page-size",
                    "1",
                )
            )
            (folder / "notes.md").unlink()  # changes while it builds
            (folder / "extra.md").write_text("# Extra\n\nThe edited page, second revision.")
            await watcher.reconcile()
            built = await build
            assert built.returncode == 0, built.stderr + built.stdout
            second = (await registry.list())[-1]
            assert second.meta.state == "ready"
            assert second.meta.build.text_vectors_embedded == 0
            assert second.meta.build.images_unreadable == 0

            async def edits_settled() -> bool:
                manifests = await _manifest_revisions(es_client, documents_index)
                return len(manifests) == 5 and any(m["deleted"] for m in manifests.values())

            await wait_for(edits_settled, 120, "edits indexed", [worker])
            promoted = generations_command(environment, "promote", "--force")
            assert promoted.returncode == 0, promoted.stderr + promoted.stdout
            assert await registry.live_name() == second.name

            (folder / "late.md").write_text("# Late\n\nWritten after the promotion.")
            await watcher.reconcile()
            await wait_for(functools.partial(settled, 6), 120, "late page indexed", [worker])
            await asyncio.sleep(1)
            for generation in (second.name, first):  # both kept exact by the dual write
                assert await assert_matches_manifests(es_client, documents_index, generation) == 5

            images = await es_client.search(
                index=second.name,
                query={"term": {"modality": "image"}},
                source_includes=["*"],
                size=10,
            )
            pictures = [hit["_source"] for hit in images["hits"]["hits"]]
            assert len(pictures) == 2  # the PDF's picture and the photo, read again
            assert all(p["clip_model"] == str(other_clip) for p in pictures)
            assert all(np.linalg.norm(p["clip_vector"]) > 0.99 for p in pictures)

            worker.stop()  # a restart embeds with the promoted generation's models
            worker = WorkerProcess(environment, tmp_path / "worker-2").start()
            await worker.wait_ready()
            assert f"clip_model={other_clip}" in worker.tail(200)

            back = generations_command(environment, "rollback")
            assert back.returncode == 0, back.stderr + back.stdout
            assert await registry.live_name() == first
            listed = generations_command(environment, "list", "--json")
            rows = json.loads(listed.stdout)
            assert [row["live"] for row in rows] == [True, False]
        finally:
            watcher.close()
            worker.stop()
