"""Indexing benchmark: bare encoders vs the whole pipeline, and change→searchable latency.

    python -m bench.indexing [--texts 300] [--photos 60] [--samples 15]

Needs the local stack (started if not running). Prints figures and ratios measured in the
same run, so machine noise affects both sides alike. The CLIP model is whatever
``MMRAG_CLIP_MODEL`` names; without real weights a tiny random CLIP is used and its image
figures then show decode + preprocessing + a toy model, which the output says.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.corpus import photo, prose, write_corpus
from compose.local import LocalStack, StackSettings
from indexer.chunks import ChunkingOptions, build_chunks
from indexer.encoders.base import Encoders
from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.events import ChangeEvent, derive_doc_id, utc_now
from indexer.extract import extract_document, load_rgb_for_model
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from stream.watcher.events import content_type_of

console = Console()


def _encoders(clip_model: str | None, workdir: Path) -> tuple[Encoders, str]:
    settings = EncoderSettings()
    if clip_model:
        settings = settings.model_copy(update={"clip_model": clip_model})
    encoders = load_encoders(settings.model_copy(update={"clip_required": False}))
    if encoders.clip is not None:
        return encoders, settings.clip_model
    from indexer.encoders.tiny_clip import build_tiny_random_clip

    tiny = str(build_tiny_random_clip(workdir / "tiny-clip"))
    encoders = load_encoders(settings.model_copy(update={"clip_model": tiny}))
    return encoders, "tiny random CLIP (no real weights here: image figures are a floor)"


def bare_encoder_rates(encoders: Encoders, folder: Path) -> tuple[float, float, int]:
    """Chunks/s (text model + CLIP text tower) and images/s (decode + CLIP image tower)."""
    texts: list[str] = []
    for path in sorted(folder.glob("*.md")):
        document = extract_document(path.read_bytes(), "text/markdown", name=path.name)
        texts.extend(chunk.text for chunk in build_chunks("d", document, ChunkingOptions()))
    started = time.perf_counter()
    encoders.text.embed_texts(texts)
    if encoders.clip is not None:
        encoders.clip.embed_texts(texts)
    text_rate = len(texts) / (time.perf_counter() - started)
    photos = sorted(folder.glob("*.jpg"))
    started = time.perf_counter()
    images = [load_rgb_for_model(path.read_bytes()) for path in photos]
    if encoders.clip is not None:
        encoders.clip.embed_images(images)
    image_rate = len(photos) / (time.perf_counter() - started)
    return text_rate, image_rate, len(texts)


async def pipeline_rate(
    encoders: Encoders, files: list[Path], es_url: str, batch: int
) -> tuple[float, int]:
    """Items (text chunks, or images) embedded and written per second by the pipeline."""
    suffix = uuid.uuid4().hex[:8]
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"bench-{suffix}-chunks",
        documents_index=f"bench-{suffix}-documents",
        allowed_roots=tuple({path.parent for path in files}),  # events here declare no root
    )
    store = ElasticsearchStore(settings)
    pipeline = IndexingPipeline(settings, store, encoders, ContentReader(settings))
    await pipeline.setup()
    events = [
        ChangeEvent(
            event_id=uuid.uuid4().hex,
            source="fs:bench",
            doc_id=derive_doc_id("fs:bench", path.name),
            op="upsert",
            uri=path.as_uri(),
            revision=1,
            content_type=content_type_of(path.name),
            emitted_at=utc_now(),
        )
        for path in files
    ]
    embedded = 0
    started = time.perf_counter()
    try:
        for start in range(0, len(events), batch):
            result = await pipeline.process(events[start : start + batch])
            embedded += result.chunks_embedded
        elapsed = time.perf_counter() - started
    finally:
        client = store.client
        for index in (f"{settings.chunks_alias}-000001", settings.documents_index):
            await client.options(ignore_status=404).indices.delete(index=index)
        await store.close()
    return embedded / elapsed, embedded


async def freshness(
    es_url: str, kafka: str, clip_model: str, workdir: Path, samples: int, refresh: str
) -> dict[str, list[float]]:
    """Write a file into a watched folder; time until a search finds its chunks."""
    from elasticsearch import AsyncElasticsearch

    from stream.producer import ChangeProducer
    from stream.settings import StreamSettings
    from stream.topics import ensure_topics
    from stream.watcher import DirectoryWatcher, WatchSettings
    from tests.integration.worker_process import WorkerEnvironment, WorkerProcess

    suffix = uuid.uuid4().hex[:8]
    topic = f"bench.{suffix}"
    stream_settings = StreamSettings(
        kafka_bootstrap=kafka,
        changes_topic=topic,
        backfill_topic=f"{topic}.backfill",
        dead_letter_topic=f"{topic}.dlq",
    )
    await ensure_topics(stream_settings)
    environment = WorkerEnvironment(
        kafka_bootstrap=kafka,
        elasticsearch_url=es_url,
        changes_topic=topic,
        backfill_topic=f"{topic}.backfill",
        chunks_alias=f"bench-{suffix}-chunks",
        documents_index=f"bench-{suffix}-documents",
        app_id=f"bench-{suffix}",
        clip_model=clip_model,
        partitions=6,
    )
    folder = workdir / f"fresh-{refresh}"
    folder.mkdir()
    worker = WorkerProcess(
        environment, workdir / f"worker-{refresh}", extra={"MMRAG_REFRESH": refresh}
    )
    worker.start()
    client = AsyncElasticsearch(es_url)
    latencies: dict[str, list[float]] = {"text file": [], "jpeg (1600x1200)": []}
    jpeg = photo(7, (1600, 1200))
    try:
        await worker.wait_ready()
        async with ChangeProducer(kafka, topic, f"{topic}.dlq") as producer:
            watcher = DirectoryWatcher(
                folder, producer, WatchSettings(state_dir=workdir / f"state-{refresh}"), "fresh"
            )
            task = asyncio.create_task(watcher.run())
            await asyncio.sleep(1.0)
            try:
                for number in range(samples):
                    for kind, name, data in (
                        ("text file", f"n{number}.md", prose(number, 1).encode()),
                        ("jpeg (1600x1200)", f"p{number}.jpg", jpeg + number.to_bytes(4, "big")),
                    ):
                        doc_id = derive_doc_id("fs:fresh", name)
                        started = time.perf_counter()
                        (folder / name).write_bytes(data)
                        while True:
                            found = await client.count(
                                index=environment.chunks_alias, query={"term": {"doc_id": doc_id}}
                            )
                            if found["count"]:
                                break
                            await asyncio.sleep(0.01)
                        latencies[kind].append(time.perf_counter() - started)
                        await asyncio.sleep(0.3)
            finally:
                watcher.stop()
                await task
                watcher.close()
    finally:
        worker.stop()
        for index in (f"{environment.chunks_alias}-000001", environment.documents_index):
            await client.options(ignore_status=404).indices.delete(index=index)
        await client.close()
    return latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--photo-size", default="4000x3000")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--clip-model", default=None)
    parser.add_argument("--refresh", choices=["wait_for", "false", "both"], default="both")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    width, height = (int(v) for v in args.photo_size.split("x"))

    stack = LocalStack(StackSettings())
    stack.up()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        corpus = workdir / "corpus"
        write_corpus(corpus, args.texts, args.photos, (width, height))
        encoders, clip_label = _encoders(args.clip_model, workdir)
        console.print(f"text model: {encoders.text.name}; CLIP: {clip_label}")

        text_rate, image_rate, chunk_count = bare_encoder_rates(encoders, corpus)
        es_url = stack.settings.elasticsearch_url
        pipe_text, chunks = await pipeline_rate(
            encoders, sorted(corpus.glob("*.md")), es_url, args.batch
        )
        pipe_images, images = await pipeline_rate(
            encoders, sorted(corpus.glob("*.jpg")), es_url, args.batch
        )
        table = Table(
            title=f"bulk load: {args.texts} Markdown files, {args.photos} JPEGs {args.photo_size}"
        )
        table.add_column("path")
        table.add_column("text chunks/s", justify="right")
        table.add_column("images/s", justify="right")
        table.add_row("bare encoders (decode + embed)", f"{text_rate:.1f}", f"{image_rate:.1f}")
        table.add_row(
            "whole pipeline (read, extract, chunk, diff, embed, ES)",
            f"{pipe_text:.1f}",
            f"{pipe_images:.1f}",
        )
        table.add_row(
            "ratio pipeline / bare",
            f"{pipe_text / text_rate:.2f}",
            f"{pipe_images / image_rate:.2f}",
        )
        console.print(table)
        console.print(
            f"({chunk_count} chunk texts in the bare run; the pipeline embedded {chunks} text "
            f"chunks and {images} images)"
        )

        clip_dir = encoders.clip and (args.clip_model or str(workdir / "tiny-clip"))
        modes = ["wait_for", "false"] if args.refresh == "both" else [args.refresh]
        fresh = Table(
            title=f"change → searchable (watcher → Kafka → worker → ES), {args.samples} each"
        )
        for column in ("refresh", "input", "p50 s", "p95 s", "max s"):
            fresh.add_column(column, justify="right")
        for mode in modes:
            latencies = await freshness(
                stack.settings.elasticsearch_url,
                stack.settings.kafka_bootstrap,
                str(clip_dir),
                workdir,
                args.samples,
                mode,
            )
            for kind, values in latencies.items():
                fresh.add_row(
                    mode,
                    kind,
                    f"{statistics.median(values):.2f}",
                    f"{_percentile(values, 0.95):.2f}",
                    f"{max(values):.2f}",
                )
        console.print(fresh)


if __name__ == "__main__":
    asyncio.run(main())
