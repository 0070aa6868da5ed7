"""``mmrag bench NAME [ARGS…]``: run a benchmark from the checkout's ``bench/``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

BENCHMARKS = {
    "indexing": ("bench.indexing", "bulk load vs bare encoders; change→searchable latency"),
    "encoders": ("bench.encoders", "fp32 vs bf16 for the text model: speed and agreement"),
    "query": ("bench.query_latency", "/search latency by concurrency over ≥ 10k chunks"),
    "faults": ("bench.faults", "SIGKILLs, ES outage, Kafka restart, hostile inputs: losses"),
    "generations": (
        "bench.generations",
        "a new index generation built from the live one vs a fresh index; vectors reused",
    ),
    "corpus": (
        "bench.corpus_run",
        "watch → Kafka → worker → ES over a real folder: chunks/s vs the bare encoder, "
        "live-edit freshness during the load",
    ),
}


NAME_HELP = "; ".join(f"{name}: {purpose}" for name, (_, purpose) in BENCHMARKS.items())


def bench(ctx: typer.Context, name: str = typer.Argument(..., help=NAME_HELP)) -> None:
    """Run a benchmark; extra arguments go to it (`python -m bench.NAME --help` lists them)."""
    if name not in BENCHMARKS:
        raise typer.BadParameter(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    module, _ = BENCHMARKS[name]
    root = Path(__file__).resolve().parents[1]
    path = root / Path(*module.split("."))
    if not (path.with_suffix(".py").exists() or (path / "__main__.py").exists()):
        typer.echo(
            "error: benchmarks run from a source checkout (bench/ is not installed)", err=True
        )
        raise typer.Exit(1)
    result = subprocess.run([sys.executable, "-m", module, *ctx.args], cwd=root, check=False)
    raise typer.Exit(result.returncode)
