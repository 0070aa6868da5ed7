"""How long building a new index generation takes next to indexing the same corpus fresh,
and the share of vectors reused, for a CLIP-only, a text-only and a chunker change.

On a real corpus slice (the first ``--pages`` pages of the PostgreSQL manual, in name
order) indexed through the real pipeline (MiniLM torch fp32 and a tiny random CLIP: the
only CLIP weights that load offline, so CLIP costs here are a floor): then a generation
for another tiny random CLIP (CLIP-only: text vectors copied) and one for MiniLM on ONNX
Runtime int8 (text-only: CLIP vectors copied), and one for another chunk size (the
worker's chunking groups run in-process: the build's republished events go straight to
them; chunks whose ids did not change get the live generation's vectors). One process,
one Elasticsearch; uuid-named indexes, deleted afterwards.

    python -m bench.generations [--pages 100] [--elasticsearch-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from elasticsearch import AsyncElasticsearch
from rich.console import Console
from rich.table import Table

from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.encoders.tiny_clip import build_tiny_random_clip
from indexer.events import ChangeEvent, Operation, derive_doc_id
from indexer.generations.alias_view import GenerationsView
from indexer.generations.build_runner import run_build
from indexer.generations.chunking_groups import ChunkSize
from indexer.generations.elastic_io import pages
from indexer.generations.encoders import EncoderCache
from indexer.generations.fanout import GenerationFanout
from indexer.generations.group_indexer import ChunkingGroupIndexer, group_pipelines
from indexer.generations.meta import BuildProgress
from indexer.generations.planning import BuildRequest, plan_build, start_or_resume
from indexer.generations.rechunk import RechunkOptions
from indexer.generations.registry import GenerationRegistry
from indexer.generations.stored_images import StoredImageReader
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.source_retry import SourceRetry
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore

console = Console()
CORPUS = Path.home() / ".cache/mmrag/corpora/postgresql-doc-15/usr/share/doc/postgresql-doc-15/html"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE = "fs:bench-generations"


def _events(folder: Path) -> list[ChangeEvent]:
    return [
        ChangeEvent(
            event_id=f"bench-{path.name}",
            source=SOURCE,
            doc_id=derive_doc_id(SOURCE, path.as_uri()),
            op=Operation.UPSERT,
            uri=path.as_uri(),
            revision=1,
            content_type="text/html",
            emitted_at=datetime.now(UTC),
        )
        for path in sorted(folder.glob("*.html"))
    ]


RECHUNK_TOKENS = 120


class InProcessWorker:
    """The worker's chunking groups in this process, as the build's change log: what is
    published is indexed at once (nothing is ever pending)."""

    def __init__(self, indexer: ChunkingGroupIndexer, batch: int) -> None:
        self._indexer = indexer
        self._batch = batch

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        for start in range(0, len(events), self._batch):
            await self._indexer.process(events[start : start + self._batch])

    async def pending(self) -> int:
        return 0


async def _rechunk(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    encoder_settings: EncoderSettings,
    cache: EncoderCache,
    images: StoredImageReader,
) -> tuple[float, BuildProgress]:
    """A chunker-change generation built through in-process chunking groups; its
    progress carries the vectors the new group embedded and copied."""
    request = BuildRequest(chunk_max_tokens=RECHUNK_TOKENS)
    plan = await plan_build(registry, settings, encoder_settings, cache, request)
    generation = await start_or_resume(registry, settings, plan)
    view = GenerationsView(registry.client, settings.chunks_alias, refresh_s=0.0)
    configured = await asyncio.to_thread(cache.encoders, plan.live.meta.config)
    indexer = ChunkingGroupIndexer(
        view,
        group_pipelines(
            settings,
            cache,
            configured,
            view,
            registry.client,
            lane_encoders=lambda models, _primary: models,
            source_retry=SourceRetry(),
            image_max_side=encoder_settings.image_max_side,
        ),
        shared_documents_index=settings.documents_index,
        default_chunk_size=ChunkSize(settings.chunk_max_tokens, settings.chunk_overlap_tokens),
    )
    worker = InProcessWorker(indexer, batch=20)
    options = RechunkOptions(page_size=100, grace_s=0.0, poll_s=0.2, settle_s=0.0)
    started = time.perf_counter()
    try:
        progress = await run_build(
            registry, settings, cache, generation, images, publisher=worker, rechunk=options
        )
    finally:
        await indexer.close()
    seconds = time.perf_counter() - started
    copied, total = await _shared_ids(registry.client, plan.live.name, generation)
    return seconds, progress.model_copy(
        update={"text_vectors_reused": copied, "text_vectors_embedded": total - copied}
    )


async def _shared_ids(es: AsyncElasticsearch, live: str, generation: str) -> tuple[int, int]:
    """Of ``generation``'s chunks, how many have an id the live generation has too (their
    vectors were copied, not embedded), and how many there are."""
    await es.indices.refresh(index=generation)
    ids: list[str] = []
    async for hits in pages(es, generation, "chunk_id", size=1000):
        ids.extend(str(hit["_id"]) for hit in hits)
    shared = 0
    for start in range(0, len(ids), 1000):
        found = await es.mget(index=live, ids=ids[start : start + 1000], source=False)
        shared += sum(1 for doc in found["docs"] if doc.get("found"))
    return shared, len(ids)


async def run(pages: int, corpus: Path, es_url: str, batch: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="mmrag-bench-generations-"))
    folder = work / "pages"
    folder.mkdir()
    for path in sorted(corpus.glob("*.html"))[:pages]:
        shutil.copy(path, folder / path.name)
    clip_a = build_tiny_random_clip(work / "clip-a", seed=0)
    clip_b = build_tiny_random_clip(work / "clip-b", seed=1)
    name = f"bench-gen-{uuid.uuid4().hex[:10]}"
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"{name}-chunks",
        documents_index=f"{name}-documents",
        allowed_roots=(folder,),
        refresh="false",
    )
    encoder_settings = EncoderSettings(clip_model=str(clip_a), encoder_runtime="torch")
    encoders = load_encoders(encoder_settings)
    cache = EncoderCache(encoder_settings, seed=encoders)
    es = AsyncElasticsearch(es_url, request_timeout=120)
    reader = ContentReader(settings)
    images = StoredImageReader(reader, settings)
    store = GenerationFanout(ElasticsearchStore(settings), settings, cache, images)
    pipeline = IndexingPipeline(settings, store, encoders, reader)
    registry = GenerationRegistry(es, settings.chunks_alias)
    rows: list[tuple[str, float, BuildProgress | None]] = []
    try:
        await pipeline.setup()
        events = _events(folder)
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            await pipeline.process(events[start : start + batch])
        fresh = time.perf_counter() - started
        await es.indices.refresh(index=settings.chunks_alias)
        chunks = (await es.count(index=settings.chunks_alias))["count"]
        rows.append((f"fresh index ({len(events)} pages, {chunks} chunks)", fresh, None))
        console.print(f"fresh index: {fresh:.1f} s for {chunks} chunks")
        for label, request in (
            ("CLIP-only change (tiny CLIP seed 0 → 1)", BuildRequest(clip_model=str(clip_b))),
            (
                "text-only change (MiniLM torch → @onnx-int8)",
                BuildRequest(text_model=MINILM + "@onnx-int8"),
            ),
        ):
            plan = await plan_build(registry, settings, encoder_settings, cache, request)
            generation = await start_or_resume(registry, settings, plan)
            started = time.perf_counter()
            progress = await run_build(registry, settings, cache, generation, images, page_size=20)
            rows.append((label, time.perf_counter() - started, progress))
            console.print(f"{label}: {rows[-1][1]:.1f} s")
        label = f"chunker change ({settings.chunk_max_tokens} → {RECHUNK_TOKENS} tokens)"
        seconds, progress = await _rechunk(registry, settings, encoder_settings, cache, images)
        rows.append((label, seconds, progress))
        console.print(f"{label}: {seconds:.1f} s")
    finally:
        await pipeline.close()
        found = await es.indices.get(index=f"{name}-*", ignore_unavailable=True)
        if found.body:
            await es.indices.delete(index=",".join(found.body))
        await es.close()
        shutil.rmtree(work, ignore_errors=True)
    table = Table(title="Generation build vs fresh index (same corpus, same process)")
    for column in (
        "run",
        "seconds",
        "× fresh",
        "vectors reused",
        "text reused/embedded",
        "CLIP reused/embedded",
    ):
        table.add_column(column)
    for label, seconds, built in rows:
        if built is None:
            table.add_row(label, f"{seconds:.1f}", "1.00", "", "", "")
            continue
        progress = built
        table.add_row(
            label,
            f"{seconds:.1f}",
            f"{seconds / fresh:.2f}",
            f"{progress.reused_share:.0%}",
            f"{progress.text_vectors_reused}/{progress.text_vectors_embedded}",
            f"{progress.clip_vectors_reused}/{progress.clip_vectors_embedded}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--elasticsearch-url", default="http://127.0.0.1:19200")
    parser.add_argument("--batch", type=int, default=20, help="events per pipeline batch")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}: run `mmrag corpus fetch postgresql-doc-15`")
    asyncio.run(run(args.pages, args.corpus, args.elasticsearch_url, args.batch))


if __name__ == "__main__":
    main()
