"""Encoder runtimes on real chunks: chunks/s of each, cosine to torch fp32, and the
default's ratio to torch fp32, all measured in this one process.

    python -m bench.encoders [--corpus DIR] [--chunks 800] [--repeats 2] [--bf16]
    mmrag bench encoders [same options]

The chunks are what the worker embeds: pages of a real corpus (default: the
postgresql-doc-15 manual, ``mmrag corpus fetch postgresql-doc-15``) read through the
indexer's own extraction and chunking, spread over the whole corpus. Goal: the default
runtime ≥ 1.7× torch fp32 with cosine ≥ 0.98 on every chunk (retrieval quality itself is
measured with ``mmrag eval``; docs/encoders.md).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from indexer.chunks import ChunkingOptions, build_chunks
from indexer.encoders.base import TextEmbedder
from indexer.encoders.loading import load_encoders, runtime_for
from indexer.encoders.settings import EncoderSettings
from indexer.errors import IndexerError
from indexer.extract import extract_document
from indexer.settings import IndexerSettings
from indexer.vectors import text_for_text_model

console = Console()
GOAL_RATIO = 1.7
CORPUS = Path.home() / ".cache/mmrag/corpora/postgresql-doc-15/usr/share/doc/postgresql-doc-15/html"


def _cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    wanted = ("amx_bf16", "avx512_bf16", "avx512_vnni", "avx512f", "avx2")
    return ", ".join(flag for flag in wanted if f" {flag}" in flags) or "none of interest"


def corpus_chunks(folder: Path, counter: TextEmbedder, wanted: int) -> list[str]:
    """What the text model reads for text chunks of pages spread over the corpus."""
    settings = IndexerSettings()
    options = ChunkingOptions(
        settings.chunk_max_tokens, settings.chunk_overlap_tokens, tokenizer=counter
    )
    pages = sorted(p for p in folder.rglob("*") if p.suffix in {".html", ".htm", ".md", ".txt"})
    if not pages:
        raise SystemExit(f"no pages under {folder}: mmrag corpus fetch postgresql-doc-15")
    step = max(1, len(pages) // 120)
    texts: list[str] = []
    for page in pages[::step]:
        if len(texts) >= wanted:
            break
        try:
            document = extract_document(page.read_bytes(), None, name=page.name)
        except IndexerError:
            continue  # the worker would dead-letter it
        chunks = build_chunks(f"bench:{page.name}", document, options)
        texts.extend(text_for_text_model(chunk) for chunk in chunks if chunk.image is None)
    return texts[:wanted]


def timed(
    embedder: TextEmbedder, texts: Sequence[str], repeats: int
) -> tuple[float, NDArray[np.float32]]:
    """Chunks/s (best of ``repeats``, after a warm-up) and the vectors."""
    embedder.embed_texts(list(texts[:16]))
    best, vectors = float("inf"), np.zeros((0, 0), dtype=np.float32)
    for _ in range(repeats):
        started = time.perf_counter()
        vectors = embedder.embed_texts(list(texts))
        best = min(best, time.perf_counter() - started)
    return len(texts) / best, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--chunks", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="also torch bf16 autocast")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    default = runtime_for(EncoderSettings())
    runtimes = [("torch", "fp32")] + ([("torch", "bf16")] if args.bf16 else [])
    runtimes += [("onnx", "fp32"), ("onnx-int8", "fp32")]
    rows: dict[tuple[str, str], tuple[float, NDArray[np.float32], str]] = {}
    texts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mmrag-bench-encoders-") as cache:
        for runtime, precision in runtimes:
            settings = EncoderSettings(
                encoder_runtime=runtime,
                precision=precision,
                clip_model="",
                encoder_cache_dir=Path(cache),  # the export's cost is not in the figures
            )
            embedder = load_encoders(settings).text
            if not texts:
                texts = corpus_chunks(args.corpus, embedder, args.chunks)
                tokens = [embedder.count_tokens(text) for text in texts]
                console.print(
                    f"{len(texts)} chunks of {args.corpus} (tokens mean "
                    f"{np.mean(tokens):.0f}, p95 {np.percentile(tokens, 95):.0f})"
                )
            rate, vectors = timed(embedder, texts, args.repeats)
            rows[(runtime, precision)] = (rate, vectors, embedder.name)
            console.print(f"  {embedder.name}: {rate:.1f} chunks/s", highlight=False)
    reference_rate, reference, _ = rows[("torch", "fp32")]
    table = Table(title=f"text encoder on real chunks (CPU: {_cpu_flags()})")
    for column in ("runtime", "name", "chunks/s", "× torch fp32", "cosine min", "cosine mean"):
        table.add_column(column, justify="left" if column in ("runtime", "name") else "right")
    for (runtime, precision), (rate, vectors, name) in rows.items():
        cosines = np.sum(vectors * reference, axis=1)
        table.add_row(
            f"torch {precision}" if runtime == "torch" else runtime,
            name,
            f"{rate:.1f}",
            f"{rate / reference_rate:.2f}",
            f"{cosines.min():.4f}",
            f"{cosines.mean():.4f}",
        )
    console.print(table)
    chosen = (default.runtime, "bf16" if default.bf16 else "fp32")
    if chosen in rows:
        ratio = rows[chosen][0] / reference_rate
        verdict = "meets" if ratio >= GOAL_RATIO else "MISSES"
        console.print(
            f"default here: {chosen[0] if chosen[0] != 'torch' else ' '.join(chosen)} = "
            f"{ratio:.2f}× torch fp32, "
            f"{verdict} the goal of {GOAL_RATIO}×",
            highlight=False,
        )


if __name__ == "__main__":
    main()
