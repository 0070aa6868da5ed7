"""fp32 vs bf16 for the text model on real passages: speed and agreement.

    python -m bench.encoders [--passages 256]

bf16 is only worth enabling by default if it is faster *and* its vectors agree with fp32
(cosine ≥ 0.999 on every passage). Prints both, and the CPU flags that decide it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.corpus import prose
from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder
from indexer.encoders.settings import EncoderSettings

console = Console()


def _cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    wanted = ("avx512_bf16", "amx_bf16", "amx_tile", "avx512f", "avx2")
    return ", ".join(flag for flag in wanted if f" {flag}" in flags) or "none of interest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    passages = [prose(seed, paragraphs=1, words=120) for seed in range(args.passages)]
    results = {}
    for precision in ("fp32", "bf16"):
        embedder = SentenceTransformerEmbedder(
            "sentence-transformers/all-MiniLM-L6-v2", EncoderSettings(precision=precision)
        )
        embedder.embed_texts(passages[:16])  # warm-up
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            vectors = embedder.embed_texts(passages)
            best = min(best, time.perf_counter() - started)
        results[precision] = (len(passages) / best, vectors)
    cosines = np.sum(results["fp32"][1] * results["bf16"][1], axis=1)
    table = Table(
        title=f"MiniLM-L6 on {args.passages} passages of ~120 words (CPU: {_cpu_flags()})"
    )
    for column in ("precision", "passages/s", "ratio vs fp32", "min cosine vs fp32"):
        table.add_column(column, justify="right")
    fp32_rate = results["fp32"][0]
    table.add_row("fp32", f"{fp32_rate:.1f}", "1.00", "1.0000")
    table.add_row(
        "bf16 autocast",
        f"{results['bf16'][0]:.1f}",
        f"{results['bf16'][0] / fp32_rate:.2f}",
        f"{float(cosines.min()):.4f}",
    )
    console.print(table)
    worth_it = results["bf16"][0] > fp32_rate * 1.1 and float(cosines.min()) >= 0.999
    console.print(
        "bf16 is worth enabling here (MMRAG_PRECISION=bf16)"
        if worth_it
        else "keep fp32 (the default): bf16 is not clearly faster with agreeing vectors here"
    )


if __name__ == "__main__":
    main()
