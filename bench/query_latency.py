"""Query latency: ``POST /search`` p50/p99 at concurrency 1, 4 and 16 over ≥ 10k chunks.

    python -m bench.query_latency [--chunks 10000] [--texts 500] [--requests 150]
    mmrag bench query [same options]

The index is built directly in Elasticsearch (not through the pipeline, which
``bench.indexing`` measures): ``--texts`` distinct synthetic passages embedded with the
real text model (MiniLM by default), reused with Gaussian noise on the vector (σ=0.02 per
dimension, cosine ≈ 0.93 to the original) and a copy number in the text until there are
``--chunks`` chunks. No CLIP model: hybrid is BM25 + text kNN, as it is for a text query
when no CLIP weights are available (a real CLIP text tower adds ≈ 8 ms per query here).

``--index ALIAS --documents-index NAME`` measures an existing index instead (e.g. the
postgresql-doc corpus indexed by the worker), with the questions of ``--questions`` (a
labelled set) as queries; it is never modified. The API and the query vectors use the
configured encoder runtime (``MMRAG_ENCODER_RUNTIME``): it must be the index's.

The API runs as ``mmrag serve`` in a child process on a free loopback port; the load comes
from this process over real HTTP with aiohttp (keep-alive connections, one per caller):
the load generator shares the machine's cores with the API and Elasticsearch, and aiohttp
costs about half of httpx's CPU per request. Every request embeds its query: the API has no
query-vector cache, so cycling through the labelled questions measures no cache hits.
Baselines measured in the same run, on the same machine:

- ``/health``: the HTTP floor (uvicorn + FastAPI + the cluster-health, lag and
  index-build reads of ``/health``);
- raw ES: what ``/search`` asks Elasticsearch (BM25 and kNN in one ``_msearch`` that
  returns the hits' sources), with query vectors embedded beforehand — so the difference
  to ``/search`` is query embedding, fusion and the HTTP layer.

What made ``/search`` cheaper (CPU per request is what counts at 16 callers on 2 cores):
one ``_msearch`` instead of a ``_search`` per retriever plus an ``mget`` (three round trips
→ one), ``track_total_hits: false`` (BM25 skips what cannot reach the top), orjson for the
Elasticsearch client, uvloop and httptools under uvicorn. Ranking is unchanged (the same
searches; ``mmrag eval`` gives the same figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk
from rich.console import Console
from rich.table import Table

from indexer.store.mappings import VectorSpace, chunk_index_body
from query_api.es_client import search_client
from query_api.fusion import fuse_rankings
from query_api.multi_search import hit_list, msearch_lines, search_responses
from query_api.queries import bm25_body, filter_clauses, text_knn_body, with_sources
from query_api.schemas import Retriever, SearchFilters
from query_api.settings import ApiSettings

console = Console()
TOPICS = {
    "kafka": "broker partition offset consumer producer replica leader topic lag commit",
    "search": "index query vector ranking relevance shard segment analyzer token score",
    "garden": "tomato seedling soil compost mulch watering blight harvest pruning frost",
    "baking": "sourdough starter flour hydration proofing crust oven dough yeast knead",
    "running": "marathon mileage tempo interval taper pace recovery hydration stride race",
    "geology": "volcano magma lava eruption crust plate basalt ash fault earthquake",
    "chess": "opening gambit castle bishop knight endgame pawn rook checkmate defence",
    "bees": "hive queen worker drone honey brood frame swarm varroa pollen nectar",
    "coffee": "espresso grind extraction crema tamp roast bean brew acidity ratio",
    "photo": "tripod shutter aperture exposure filter lens focus sensor light aperture",
    "finance": "budget invoice ledger revenue margin forecast audit expense tax cash",
    "health": "sleep nutrition protein vitamin exercise stress heart blood pressure rest",
}
FILLER = "the a of to and in is that for it with on by this from which when how".split()


def synthetic_texts(count: int, seed: int = 7) -> list[str]:
    """Distinct passages mixing a main topic's words with a second topic's and filler."""
    generator = random.Random(seed)
    names = sorted(TOPICS)
    texts = []
    for number in range(count):
        main, other = generator.sample(names, 2)
        words = []
        for _ in range(60):
            pool = generator.choices(
                (TOPICS[main], TOPICS[other], " ".join(FILLER)), weights=(5, 2, 4)
            )[0]
            words.append(generator.choice(pool.split()))
        texts.append(f"{main} note {number}: " + " ".join(words) + ".")
    return texts


def synthetic_queries(count: int, seed: int = 11) -> list[str]:
    generator = random.Random(seed)
    names = sorted(TOPICS)
    return [
        " ".join(generator.sample(TOPICS[generator.choice(names)].split(), 4)) for _ in range(count)
    ]


def _chunk_actions(
    index: str, texts: list[str], vectors: Any, chunks: int, seed: int = 3
) -> Iterator[dict[str, Any]]:
    generator = np.random.default_rng(seed)
    for number in range(chunks):
        base = number % len(texts)
        vector = vectors[base] + generator.normal(0, 0.02, vectors.shape[1])
        vector /= np.linalg.norm(vector)
        doc = number // 10
        yield {
            "_index": index,
            "_id": f"bench-{number}",
            "_source": {
                "chunk_id": f"bench-{number}",
                "doc_id": f"bench:doc-{doc}",
                "source": "bench:synthetic",
                "uri": f"file:///bench/doc-{doc}.md",
                "title": f"Synthetic document {doc}",
                "modality": "text",
                "order": number % 10,
                "text": f"{texts[base]} (copy {number})",
                "acl": ["team-x"] if doc % 10 == 0 else [],
                "tags": [],
                "indexed_at": "2026-01-01T00:00:00+00:00",
                "text_vector": [round(float(v), 6) for v in vector],
            },
        }


async def build_index(
    client: AsyncElasticsearch,
    alias: str,
    text_model: str,
    vectors: Any,
    texts: list[str],
    chunks: int,
) -> float:
    started = time.perf_counter()
    space = VectorSpace(text_model, int(vectors.shape[1]), None, None)
    body = chunk_index_body(space, index_type="int8_hnsw", refresh_interval="-1")
    body["aliases"] = {alias: {"is_write_index": True}}
    index = f"{alias}-000001"
    await client.indices.create(index=index, **body)
    await async_bulk(client, _chunk_actions(index, texts, vectors, chunks), chunk_size=500)
    await client.indices.put_settings(index=index, settings={"refresh_interval": "1s"})
    await client.indices.refresh(index=index)
    await client.options(request_timeout=300).indices.forcemerge(index=index, max_num_segments=1)
    return time.perf_counter() - started


@dataclass
class Level:
    what: str
    concurrency: int
    latencies_ms: list[float]
    wall_s: float
    errors: int

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s


async def run_level(
    what: str,
    call: Callable[[int], Awaitable[bool]],
    concurrency: int,
    requests: int,
    max_seconds: float,
) -> Level:
    """``requests`` calls (or as many as fit in ``max_seconds``), ``concurrency`` at once."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal issued, errors
        while issued < requests and time.perf_counter() < deadline:
            number = issued
            issued += 1
            started = time.perf_counter()
            ok = await call(number)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Level(what, concurrency, latencies, time.perf_counter() - started, errors)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def api_process(
    es_url: str, alias: str, port: int, documents: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    environment = {
        **os.environ,
        "MMRAG_ELASTICSEARCH_URL": es_url,
        "MMRAG_CHUNKS_ALIAS": alias,
        "MMRAG_DOCUMENTS_INDEX": documents or f"{alias}-documents",
        "MMRAG_CLIP_MODEL": "",
        "MMRAG_API_LAG_CACHE_S": "3600",
        "MMRAG_LLM_PROVIDER": "none",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [
        sys.executable,
        "-m",
        "mmrag",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=environment)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_for_api(client: aiohttp.ClientSession, process: subprocess.Popen[bytes]) -> None:
    deadline = time.perf_counter() + 180
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with {process.returncode}")
        with contextlib.suppress(aiohttp.ClientError):
            async with client.get("/health") as response:
                await response.read()
                if response.status == 200:
                    return
        await asyncio.sleep(0.5)
    raise RuntimeError("the API did not answer /health within 180 s")


def stage_means(metrics_text: str) -> dict[str, float]:
    """Mean ms per search stage from ``mmrag_search_stage_seconds`` sums and counts."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in metrics_text.splitlines():
        for suffix, target in (("_sum", sums), ("_count", counts)):
            prefix = f'mmrag_search_stage_seconds{suffix}{{stage="'
            if line.startswith(prefix):
                stage = line[len(prefix) :].split('"', 1)[0]
                target[stage] = float(line.rsplit(" ", 1)[1])
    return {stage: 1000 * sums[stage] / counts[stage] for stage in sums if counts.get(stage)}


class RawElasticsearch:
    """What ``/search`` (hybrid, k=10) asks Elasticsearch, with pre-embedded queries."""

    def __init__(self, client: AsyncElasticsearch, alias: str, queries: list[str], vectors: Any):
        self._client, self._alias = client, alias
        self._queries, self._vectors = queries, vectors
        self._filters = filter_clauses(SearchFilters(), [], ["text", "image"])
        self._lexical = ApiSettings().lexical_fields()

    async def hybrid(self, number: int) -> bool:
        query = self._queries[number % len(self._queries)]
        vector = self._vectors[number % len(self._queries)].tolist()
        bodies = [
            with_sources(bm25_body(query, self._filters, size=20, fields=self._lexical)),
            with_sources(text_knn_body(vector, self._filters, k=20, num_candidates=100)),
        ]
        answer = await self._client.msearch(index=self._alias, searches=msearch_lines(bodies))
        bm25, knn = (hit_list(response) for response in search_responses(answer.body, 2))
        fused = fuse_rankings(
            {
                Retriever.BM25: [hit["_id"] for hit in bm25],
                Retriever.TEXT_KNN: [hit["_id"] for hit in knn],
            }
        )[:10]
        return len(fused) > 0


async def measure(args: argparse.Namespace) -> None:
    from indexer.encoders.loading import load_encoders
    from indexer.encoders.settings import EncoderSettings
    from indexer.settings import IndexerSettings

    es_url = args.es_url or IndexerSettings().elasticsearch_url
    alias = args.index or f"bench-query-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    encoders = load_encoders(EncoderSettings(clip_model=""))
    queries = _questions(args.questions) if args.index else synthetic_queries(200)
    query_vectors = encoders.text.embed_texts(queries)
    client = search_client(es_url, timeout_s=60)
    port = free_port()
    try:
        if not args.index:
            texts = synthetic_texts(args.texts)
            embed_started = time.perf_counter()
            text_vectors = encoders.text.embed_texts(texts)
            embed_s = time.perf_counter() - embed_started
            build_s = await build_index(
                client, alias, encoders.text.name, text_vectors, texts, args.chunks
            )
            built = f"{args.texts} texts embedded in {embed_s:.1f} s, bulk {build_s:.1f} s; "
        else:
            built = f"existing, {len(queries)} questions of {args.questions}; "
        count = (await client.count(index=alias))["count"]
        console.print(f"index {alias}: {count} chunks ({built}text model {encoders.text.name})")
        raw = RawElasticsearch(client, alias, queries, query_vectors)
        with api_process(es_url, alias, port, args.documents_index) as process:
            async with aiohttp.ClientSession(
                base_url=f"http://127.0.0.1:{port}",
                timeout=aiohttp.ClientTimeout(total=60),
                connector=aiohttp.TCPConnector(limit=64),
            ) as http:
                await wait_for_api(http, process)
                levels = await _run_levels(http, raw, queries, args)
                async with http.get("/metrics") as response:
                    stages = stage_means(await response.text())
    finally:
        if not args.index:  # an existing index is never deleted
            await client.options(ignore_status=404).indices.delete(index=f"{alias}-000001")
        await client.close()
    _report(levels, stages, time.perf_counter() - started)


def _questions(path: Path) -> list[str]:
    """The questions of a labelled set (``mmrag eval``'s JSON Lines)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        str(json.loads(line)["question"])
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    ]


async def _run_levels(
    http: aiohttp.ClientSession,
    raw: RawElasticsearch,
    queries: list[str],
    args: argparse.Namespace,
) -> list[Level]:
    async def health(_: int) -> bool:
        async with http.get("/health") as response:
            await response.read()
            return response.status == 200

    def search(mode: str) -> Callable[[int], Awaitable[bool]]:
        async def call(number: int) -> bool:
            body = {"query": queries[number % len(queries)], "k": 10, "mode": mode}
            async with http.post("/search", json=body) as response:
                await response.read()
                return response.status == 200

        return call

    for number in range(20):  # warm up: models, connections, ES caches
        await search("hybrid")(number)
        await raw.hybrid(number)
    levels = []
    for concurrency in (1, 4, 16):
        requests = args.requests * max(1, concurrency // 2)
        for what, call in (
            ("/health (HTTP floor)", health),
            ("raw ES: msearch BM25 + kNN", raw.hybrid),
            ("/search lexical", search("lexical")),
            ("/search hybrid", search("hybrid")),
        ):
            level = await run_level(what, call, concurrency, requests, args.max_seconds)
            levels.append(level)
            console.print(
                f"  c={concurrency:<2} {what:28} n={len(level.latencies_ms):4} "
                f"p50={level.percentile(0.5):7.1f} ms  p99={level.percentile(0.99):7.1f} ms",
                highlight=False,
            )
    return levels


def _report(levels: list[Level], stages: dict[str, float], total_s: float) -> None:
    by_key = {(level.what, level.concurrency): level for level in levels}
    table = Table(title="POST /search latency (k=10)")
    for column in ("what", "conc.", "n", "p50 ms", "p99 ms", "req/s", "errors", "p50 ÷ raw ES"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for level in levels:
        raw = by_key[("raw ES: msearch BM25 + kNN", level.concurrency)]
        table.add_row(
            level.what,
            str(level.concurrency),
            str(len(level.latencies_ms)),
            f"{level.percentile(0.5):.1f}",
            f"{level.percentile(0.99):.1f}",
            f"{level.throughput:.0f}",
            str(level.errors),
            f"{level.percentile(0.5) / raw.percentile(0.5):.2f}",
        )
    console.print(table)
    for concurrency in (1, 4, 16):
        hybrid = by_key[("/search hybrid", concurrency)]
        floor = by_key[("/health (HTTP floor)", concurrency)]
        raw = by_key[("raw ES: msearch BM25 + kNN", concurrency)]
        console.print(
            f"c={concurrency}: /search hybrid p50 {hybrid.percentile(0.5):.1f} ms = raw ES "
            f"{raw.percentile(0.5):.1f} + HTTP floor {floor.percentile(0.5):.1f} + the rest "
            f"{hybrid.percentile(0.5) - raw.percentile(0.5) - floor.percentile(0.5):.1f} "
            "(embedding, fusion, queueing)",
            highlight=False,
        )
    if stages:
        shown = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in sorted(stages.items()))
        console.print(f"inside the API, mean per search (lexical and hybrid runs): {shown}")
    console.print(f"total {total_s:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument(
        "--requests", type=int, default=120, help="per level at concurrency 1 (×c/2 above)"
    )
    parser.add_argument("--max-seconds", type=float, default=12.0, help="cap per level")
    parser.add_argument("--es-url", default=None, help="default: MMRAG_ELASTICSEARCH_URL")
    parser.add_argument(
        "--index", default=None, help="an existing chunks alias instead of the synthetic index"
    )
    parser.add_argument("--documents-index", default=None, help="with --index")
    parser.add_argument(
        "--questions",
        type=Path,
        default=Path("bench/eval_sets/postgresql-doc-15.jsonl"),
        help="with --index: the queries (a labelled set's questions)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
