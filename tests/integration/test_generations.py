"""Index generations on the real stack: a folder indexed with real MiniLM and a tiny
random CLIP, a second generation built for another tiny random CLIP (a CLIP-only change:
text vectors are copied) while a writer keeps changing and deleting files and a reader
keeps searching through the real query API; then promotion through the evaluation gate
and a rollback; then a text runtime change (MiniLM on ONNX Runtime int8: CLIP vectors
copied) promoted with ``force``. At each step every document's chunks match its manifest."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from elasticsearch import AsyncElasticsearch
from PIL import Image

from indexer.change_log import ChangeLogSettings
from indexer.chunks import ChunkingOptions
from indexer.encoders import Encoders, EncoderSettings
from indexer.encoders.loading import load_encoders
from indexer.encoders.tiny_clip import build_tiny_random_clip
from indexer.events import ChangeEvent, Operation, derive_doc_id
from indexer.generations.build_runner import run_build
from indexer.generations.encoders import EncoderCache
from indexer.generations.fanout import GenerationFanout
from indexer.generations.meta import BuildProgress
from indexer.generations.planning import BuildRequest, plan_build, start_or_resume
from indexer.generations.promotion import promote, rollback
from indexer.generations.reembed import text_model_input
from indexer.generations.registry import GenerationRegistry
from indexer.generations.repair import RepairTotals
from indexer.generations.stored_images import StoredImageReader
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from mmrag.bootstrap import ApiConfiguration
from mmrag.evaluation.labelled_set import parse_labelled_set
from mmrag.generation_gate import gate_evaluator
from query_api.generation import GenerationSettings
from query_api.settings import ApiSettings
from tests.integration.generation_helpers import assert_matches_manifests, in_process_api
from tests.integration.pipeline_helpers import failed_outcomes

SOURCE = "fs:generations"
STABLE = {
    "vacuum.md": "# Routine vacuuming\n\nVACUUM reclaims storage occupied by dead tuples. "
    "Autovacuum runs it in the background so that tables do not bloat, and it also updates "
    "the visibility map and prevents transaction ID wraparound.",
    "indexes.md": "# B-tree indexes\n\nA B-tree index speeds up equality and range lookups "
    "on sorted data. CREATE INDEX builds one; the planner uses it when a WHERE clause "
    "compares an indexed column with a constant.",
    "replication.md": "# Streaming replication\n\nA standby server receives write-ahead log "
    "records from the primary over a replication connection and replays them, so it stays "
    "a hot copy that can serve read-only queries and take over after a failover.",
    "json.md": "# JSON types\n\nThe jsonb type stores JSON documents in a decomposed binary "
    "form that supports GIN indexing and containment operators such as @> for querying "
    "nested keys and arrays.",
    "locks.md": "# Explicit locking\n\nRow-level locks taken by SELECT FOR UPDATE block "
    "concurrent writers of the same rows; a deadlock between two transactions is detected "
    "and one of them is aborted with an error.",
    "backup.md": "# Continuous archiving\n\nA base backup plus archived write-ahead log "
    "segments allows point-in-time recovery: restore the backup, then replay the archive "
    "up to a chosen timestamp.",
}
QUESTIONS = [
    ("q1", "how do I reclaim space from dead tuples and avoid table bloat", "vacuum.md"),
    ("q2", "speed up range lookups on a sorted column", "indexes.md"),
    ("q3", "keep a hot standby copy by replaying the write-ahead log", "replication.md"),
    ("q4", "query nested keys in binary JSON documents with containment", "json.md"),
    ("q5", "two transactions deadlock on row locks", "locks.md"),
    ("q6", "point-in-time recovery from a base backup and archived WAL", "backup.md"),
]
VICTIMS = 8
ROUNDS_AFTER_PROMOTION = 2


class BuildInterrupted(Exception):
    pass


def _event(path: Path, revision: int, op: Operation = Operation.UPSERT) -> ChangeEvent:
    uri = path.as_uri()
    content_type = "image/png" if path.suffix == ".png" else "text/markdown"
    return ChangeEvent(
        event_id=f"e-{path.name}-{revision}-{op.value}",
        source=SOURCE,
        doc_id=derive_doc_id(SOURCE, uri),
        op=op,
        uri=uri,
        revision=revision,
        content_type=None if op is Operation.DELETE else content_type,
        emitted_at=datetime.now(UTC),
    )


def _write_folder(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for name, text in STABLE.items():
        (folder / name).write_text(text)
        paths.append(folder / name)
    for number in range(VICTIMS):
        path = folder / f"victim-{number}.md"
        path.write_text(f"# Victim {number}\n\nzebraword{number} quokka obsolete page {number}.")
        paths.append(path)
    for colour in ("red", "blue"):
        path = folder / f"picture-{colour}.png"
        Image.new("RGB", (48, 32), colour).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def minilm_and_clip(tiny_random_clip: Path) -> tuple[EncoderSettings, Encoders]:
    settings = EncoderSettings(clip_model=str(tiny_random_clip), encoder_runtime="torch")
    return settings, load_encoders(settings)


async def test_build_promote_and_roll_back_a_generation_under_live_changes(
    es_url: str,
    unique_name: str,
    tmp_path: Path,
    minilm_and_clip: tuple[EncoderSettings, Encoders],
) -> None:
    encoder_settings, encoders = minilm_and_clip
    folder = tmp_path / "docs"
    paths = _write_folder(folder)
    other_clip = build_tiny_random_clip(tmp_path / "other-clip", seed=7)
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-gen-{unique_name}-chunks",
        documents_index=f"test-gen-{unique_name}-documents",
        allowed_roots=(folder,),
    )
    es = AsyncElasticsearch(es_url, request_timeout=60)
    cache = EncoderCache(encoder_settings, seed=encoders)
    reader = ContentReader(settings)
    images = StoredImageReader(reader, settings)
    store = GenerationFanout(ElasticsearchStore(settings), settings, cache, images, refresh_s=0.2)
    pipeline = IndexingPipeline(settings, store, encoders, reader)
    registry = GenerationRegistry(es, settings.chunks_alias)
    try:
        await pipeline.setup()
        result = await pipeline.process([_event(path, 1) for path in paths])
        assert not failed_outcomes(result), failed_outcomes(result)
        first = await registry.live_name()
        assert first is not None
        assert await assert_matches_manifests(es, settings.documents_index, first) == len(paths)

        deleted_uris: set[str] = set()
        failed_searches: list[str] = []
        victims_found: set[str] = set()  # so a leak could have been seen
        leaks: list[str] = []
        searches = 0
        rounds = 0
        stop_reading, stop_writing = asyncio.Event(), asyncio.Event()
        round_done = asyncio.Condition()
        build_copying = asyncio.Event()

        async def after_rounds(wanted: int) -> None:
            async with round_done:
                await round_done.wait_for(lambda: rounds >= wanted)

        async def keep_searching(client: httpx.AsyncClient) -> None:
            nonlocal searches
            queries = [question for _, question, _ in QUESTIONS] + [
                f"zebraword{n} quokka obsolete" for n in range(VICTIMS)
            ]
            while not stop_reading.is_set():
                for query in queries:
                    gone = set(deleted_uris)  # deleted (and acknowledged) before asking
                    response = await client.post("/search", json={"query": query, "k": 10})
                    searches += 1
                    if response.status_code != 200:
                        failed_searches.append(f"{response.status_code}: {response.text}")
                        continue
                    uris = [hit["uri"] for hit in response.json()["hits"]]
                    leaks.extend(uri for uri in uris if uri in gone)
                    victims_found.update(uri for uri in uris if "/victim-" in uri)
                await asyncio.sleep(0.02)

        async def keep_writing() -> None:
            nonlocal rounds
            revision = 1
            while not stop_writing.is_set() and rounds < VICTIMS:
                if rounds == 1:  # the next round runs in the middle of the build
                    await build_copying.wait()
                revision += 1
                victim = folder / f"victim-{rounds}.md"
                churn = folder / "vacuum.md"
                churn.write_text(STABLE["vacuum.md"] + f"\n\nRevision {revision} of this page.")
                fresh = folder / f"fresh-{rounds}.md"
                fresh.write_text(f"# Fresh {rounds}\n\nA page added during the build, {rounds}.")
                victim.unlink()
                events = [
                    _event(churn, revision),
                    _event(fresh, 1),
                    _event(victim, 2, Operation.DELETE),
                ]
                outcome = await pipeline.process(events)
                assert not failed_outcomes(outcome), failed_outcomes(outcome)
                deleted_uris.add(victim.as_uri())
                async with round_done:
                    rounds += 1
                    round_done.notify_all()
                await asyncio.sleep(0.3)

        async with in_process_api(settings, encoders) as (client, app):
            reading = asyncio.create_task(keep_searching(client))
            writing = asyncio.create_task(keep_writing())

            plan = await plan_build(
                registry,
                settings,
                encoder_settings,
                cache,
                BuildRequest(clip_model=str(other_clip)),
            )
            assert (plan.live.name, plan.reuse.text, plan.reuse.clip) == (first, "copy", "embed")
            assert not plan.reuse.rechunk
            name = await start_or_resume(registry, settings, plan)

            def interrupt(_: BuildProgress) -> None:
                raise BuildInterrupted

            with pytest.raises(BuildInterrupted):  # a build killed after its first page
                await run_build(
                    registry, settings, cache, name, images, page_size=2, on_progress=interrupt
                )
            saved = (await registry.get(name)).meta
            assert saved.state == "building"
            assert saved.build.documents_done == 2
            assert saved.build.cursor is not None
            assert await start_or_resume(registry, settings, plan) == name  # the same one, resumed
            # Files change and go between the build's pages (some copied, some not yet).
            rounds_before = rounds
            build_copying.set()
            await asyncio.wait_for(after_rounds(rounds_before + 1), 120)
            rounds_during_build = rounds - rounds_before
            seen: list[int] = []
            progress = await run_build(
                registry,
                settings,
                cache,
                name,
                images,
                page_size=2,
                on_progress=lambda page: seen.append(page.documents_done),
            )
            assert seen[0] == 4  # it went on after the saved page, not from the start
            assert await start_or_resume(registry, settings, plan) == name  # ready: not built again
            assert progress.finished
            assert progress.documents_done >= len(STABLE)
            assert progress.text_vectors_embedded == 0
            assert progress.text_vectors_reused > 0
            assert progress.clip_vectors_embedded > 0
            assert progress.clip_vectors_reused == 0
            assert progress.images_unreadable == 0
            rounds_at_promotion = rounds
            build = (await client.get("/health")).json()["index_build"]
            assert build["generation"] == name
            assert build["state"] == "ready"
            assert build["documents_done"] == progress.documents_done
            assert build["vectors_reused"] == pytest.approx(progress.reused_share, abs=0.001)

            labelled = "\n".join(
                json.dumps({"id": i, "question": q, "expected": [e], "split": "held"})
                for i, q, e in QUESTIONS
            )
            configuration = ApiConfiguration(
                api=ApiSettings(lag_timeout_s=15),
                store=settings,
                generation=GenerationSettings(),
                change_log=ChangeLogSettings(),
                encoders=encoder_settings,
            )
            evaluate = gate_evaluator(parse_labelled_set(labelled), configuration)
            promotion = await promote(
                registry, settings, cache, images, evaluate=evaluate, tolerance=0.2
            )
            assert promotion.switched, promotion
            assert promotion.candidate == name
            assert promotion.scores[first]["recall@5"] >= 0.8  # MiniLM finds them
            assert (await registry.get(name)).meta.evaluation == promotion.scores
            assert await registry.live_name() == name
            assert (await client.get("/health")).json()["index_build"] is None
            # What a restarted worker's group pipeline embeds with: the live one's models.
            live_config = (await registry.live()).meta.config
            followed = await asyncio.to_thread(cache.encoders, live_config)
            assert followed.clip is not None
            assert followed.clip.name == str(other_clip)  # a restarted worker's models
            assert followed.text is encoders.text  # loaded once, shared

            wanted_rounds = min(VICTIMS, rounds_at_promotion + ROUNDS_AFTER_PROMOTION)
            await asyncio.wait_for(after_rounds(wanted_rounds), 120)  # changes after it too
            stop_writing.set()
            await writing
            await asyncio.sleep(6)  # the API's generation cache (5 s) follows the alias
            space = await app.state.services.retriever.spaces.read()
            assert space.generation == name
            api_encoders = await app.state.services.retriever.encoders_for(space)
            assert api_encoders.clip is not None
            assert api_encoders.clip.name == str(other_clip)  # the API follows, no restart

            assert await assert_matches_manifests(es, settings.documents_index, name) > 0
            assert (
                await assert_matches_manifests(es, settings.documents_index, first) > 0
            )  # dual write

            back, left, repaired = await rollback(registry, settings, cache, images)
            assert (back, left) == (first, name)
            assert isinstance(repaired, RepairTotals)  # the same chunking: repaired by copying
            assert repaired.copied + repaired.deleted == 0  # the dual write kept it exact
            assert await registry.live_name() == first
            assert await assert_matches_manifests(es, settings.documents_index, first) > 0
            back_config = (await registry.live()).meta.config
            assert (await asyncio.to_thread(cache.encoders, back_config)).text is encoders.text

            # A text runtime change (MiniLM on ONNX Runtime int8): CLIP vectors are copied.
            int8 = BuildRequest(text_model=encoders.text.name + "@onnx-int8")
            text_plan = await plan_build(registry, settings, encoder_settings, cache, int8)
            assert (text_plan.reuse.text, text_plan.reuse.clip) == ("embed", "copy")
            third = await start_or_resume(registry, settings, text_plan)
            text_progress = await run_build(registry, settings, cache, third, images)
            assert text_progress.text_vectors_embedded > 0
            assert text_progress.text_vectors_reused == 0
            assert text_progress.clip_vectors_reused > 0
            assert text_progress.clip_vectors_embedded == 0
            forced = await promote(registry, settings, cache, images, force=True)
            assert forced.switched
            assert forced.candidate == third
            assert await assert_matches_manifests(es, settings.documents_index, third) > 0
            await asyncio.sleep(6)
            response = await client.post("/search", json={"query": QUESTIONS[0][1], "k": 3})
            assert response.status_code == 200
            assert response.json()["hits"][0]["uri"].endswith("vacuum.md")  # int8 MiniLM
            stop_reading.set()
            await reading

        assert rounds_during_build >= 1  # files changed and deleted while it was built
        assert rounds >= rounds_at_promotion + 1
        assert not failed_searches, failed_searches[:3]
        assert not leaks, leaks[:5]
        assert len(victims_found) >= 2  # the reader did find files before they were deleted
        assert searches > 50

        await _assert_same_text_vectors_new_clip_vectors(es, first, name, encoders, other_clip)
    finally:
        await pipeline.close()
        created = await es.indices.get(index=f"test-gen-{unique_name}-*")
        if created.body:
            await es.indices.delete(index=",".join(created.body))
        await es.close()


async def _assert_same_text_vectors_new_clip_vectors(
    es: AsyncElasticsearch, first: str, second: str, encoders: Encoders, other_clip: Path
) -> None:
    """Text vectors were copied (identical); CLIP vectors are the other model's; and the
    text the text model read is rebuilt exactly from what a chunk stores."""
    response = await es.search(
        index=first, size=50, query={"term": {"modality": "text"}}, source_includes=["*"]
    )
    old = {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}
    fetched = await es.mget(index=second, ids=list(old), source_includes=["*"])
    new = {item["_id"]: item["_source"] for item in fetched["docs"] if item.get("found")}
    assert set(new) == set(old)
    clip = load_encoders(EncoderSettings(clip_model=str(other_clip), encoder_runtime="torch")).clip
    assert clip is not None
    ids = sorted(old)
    again = clip.embed_texts([old[i]["text"] for i in ids])
    rebuilt = encoders.text.embed_texts(
        [text_model_input(old[i], ChunkingOptions(tokenizer=encoders.text)) for i in ids]
    )
    for row, chunk_id in enumerate(ids):
        assert new[chunk_id]["text_vector"] == old[chunk_id]["text_vector"]
        assert new[chunk_id]["clip_model"] == clip.name
        assert float(np.dot(again[row], new[chunk_id]["clip_vector"])) > 0.999
        assert float(np.dot(rebuilt[row], old[chunk_id]["text_vector"])) > 0.999
