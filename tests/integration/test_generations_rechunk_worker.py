"""The worker keeps a generation that chunks differently current, on the real stack: the
real ``mmrag worker`` indexes a watched folder, a second generation with another chunk
size and its own documents index is made by hand (as ``mmrag generations build
--chunk-max-tokens`` makes it), and every upsert, edit and delete then lands in both
generations, each holding exactly its own group's manifests; a chunk whose id is the same
under both chunkings has its vectors copied from the live generation. After the alias is
switched to the new generation the worker treats its group as primary without a restart,
and both stay current."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch

from indexer.generations.meta import GenerationMeta
from indexer.generations.naming import generation_documents_index, next_generation
from indexer.generations.registry import GenerationRegistry
from indexer.store.mappings import IndexLayout, documents_index_body
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from stream.watcher import DirectoryWatcher, WatchSettings
from tests.integration import documents
from tests.integration.generation_helpers import assert_matches_manifests, chunks_by_document
from tests.integration.worker_process import WorkerEnvironment, WorkerProcess, wait_for

SMALL_CHUNKS = 60


async def _manifests(es: AsyncElasticsearch, index: str) -> dict[str, dict[str, Any]]:
    await es.indices.refresh(index=index)
    response = await es.search(
        index=index, size=100, source_includes=["revision", "deleted", "uri"]
    )
    return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}


async def _same_revisions(
    es: AsyncElasticsearch, first: str, second: str, documents: int, deleted: int
) -> bool:
    """Both documents indexes hold the same revisions of ``documents`` documents, of
    which ``deleted`` are deleted."""
    one, two = await _manifests(es, first), await _manifests(es, second)
    revisions = {doc_id: (m["revision"], m["deleted"]) for doc_id, m in one.items()}
    other = {doc_id: (m["revision"], m["deleted"]) for doc_id, m in two.items()}
    gone = sum(1 for m in one.values() if m["deleted"])
    return revisions == other and len(revisions) == documents and gone == deleted


async def _rechunk_generation(
    es: AsyncElasticsearch, registry: GenerationRegistry, shared: str
) -> tuple[str, str]:
    """A building generation with another chunk size and its own documents index, as
    the builder makes it: ``(generation, documents index)``."""
    live = await registry.live()
    name = next_generation(registry.alias, [g.name for g in await registry.list()])
    documents_index = generation_documents_index(shared, registry.alias, name)
    await es.indices.create(index=documents_index, **documents_index_body(IndexLayout()))
    config = live.meta.config.model_copy(
        update={"chunk_max_tokens": SMALL_CHUNKS, "chunk_overlap_tokens": 10, "chunking": None}
    )
    meta = GenerationMeta(config=config, state="building", documents_index=documents_index)
    assert await registry.create(meta) == name
    return name, documents_index


async def test_a_generation_with_another_chunk_size_is_kept_current_and_can_become_primary(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    stream_settings, environment = setup
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "handbook.md").write_text(documents.markdown_document(8))
    (folder / "short.md").write_text("# Short\n\nOne short page that fits any chunk.")
    (folder / "notes.md").write_text("# Notes\n\nNotes that will be deleted.")
    alias, shared = environment.chunks_alias, environment.documents_index
    registry = GenerationRegistry(es_client, alias)

    worker = WorkerProcess(environment, tmp_path / "worker").start()
    async with ChangeProducer(
        stream_settings.kafka_bootstrap,
        stream_settings.changes_topic,
        stream_settings.dead_letter_topic,
        backfill_topic=stream_settings.backfill_topic,
    ) as producer:
        watcher = DirectoryWatcher(
            folder, producer, WatchSettings(state_dir=tmp_path / "state"), source_name="w"
        )

        async def indexed(count: int) -> bool:
            return len(await _manifests(es_client, shared)) == count

        try:
            await worker.wait_ready()
            await watcher.reconcile()
            await wait_for(functools.partial(indexed, 3), 180, "folder indexed", [worker])
            first = await registry.live_name()
            assert first is not None
            second, own = await _rechunk_generation(es_client, registry, shared)
            await asyncio.sleep(6)  # the worker reads the generations every 5 s

            # Every kind of change after the new generation exists: edits, a new file, a
            # delete. The short page is edited too: its one chunk keeps no id across edits,
            # but is the same under both chunk sizes (its vectors are copied).
            (folder / "handbook.md").write_text(documents.markdown_document(8, edited=3))
            (folder / "short.md").write_text("# Short\n\nThe short page, second revision.")
            (folder / "added.md").write_text(documents.markdown_document(4))
            (folder / "notes.md").unlink()
            await watcher.reconcile()
            await wait_for(
                functools.partial(_same_revisions, es_client, shared, own, 4, 1),
                180,
                "changes in both groups",
                [worker],
            )
            assert await assert_matches_manifests(es_client, shared, first) == 3
            assert await assert_matches_manifests(es_client, own, second) == 3
            old_chunks = await chunks_by_document(es_client, first)
            new_chunks = await chunks_by_document(es_client, second)
            assert set(old_chunks) == set(new_chunks)  # the deleted page gone from both
            handbook = next(
                d
                for d, m in (await _manifests(es_client, shared)).items()
                if m["uri"].endswith("handbook.md")
            )
            assert len(new_chunks[handbook]) > len(old_chunks[handbook])  # smaller chunks
            short = next(
                d
                for d, m in (await _manifests(es_client, shared)).items()
                if m["uri"].endswith("short.md")
            )
            assert new_chunks[short] == old_chunks[short]  # one chunk, same id in both
            (chunk_id,) = new_chunks[short]
            copies = await es_client.mget(
                docs=[{"_index": index, "_id": chunk_id} for index in (first, second)],
                source_includes=["*"],
            )
            vectors = [doc["_source"]["text_vector"] for doc in copies["docs"]]
            assert vectors[0] == vectors[1]
            log = worker.tail(400)
            assert f"role=secondary documents_index={own}" in log
            assert "copied=1" in log or "copied=2" in log

            # The alias moves to the new generation: its group becomes primary, the shared
            # one secondary, without a restart; both keep every change.
            await registry.switch(second)
            await asyncio.sleep(6)
            (folder / "handbook.md").write_text(documents.markdown_document(8, edited=5))
            (folder / "added.md").unlink()
            await watcher.reconcile()
            await wait_for(
                functools.partial(_same_revisions, es_client, shared, own, 4, 2),
                180,
                "changes after the switch in both groups",
                [worker],
            )
            assert await assert_matches_manifests(es_client, own, second) == 2
            assert await assert_matches_manifests(es_client, shared, first) == 2
            log = worker.tail(400)
            assert f"role=primary documents_index={own}" in log
            assert f"role=secondary documents_index={shared}" in log
            assert "chunking_group_failed" not in worker.log.read_text(errors="replace")
        finally:
            watcher.close()
            worker.stop()
