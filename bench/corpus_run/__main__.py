"""``python -m bench.corpus_run DIR [--limit N]`` (``mmrag bench corpus DIR``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from rich.console import Console

from bench.corpus_run.figures import report_lines
from bench.corpus_run.run import RunOptions, run_corpus
from bench.corpus_run.worker import WorkerFailed
from indexer.settings import IndexerSettings
from mmrag.bootstrap import load, stream_settings


def main() -> int:
    parser = argparse.ArgumentParser(prog="mmrag bench corpus", description=__doc__)
    parser.add_argument("corpus", type=Path, help="A folder of documents (e.g. an HTML site).")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N pages.")
    parser.add_argument("--edit-every", type=float, default=3.0, help="Seconds between live edits.")
    parser.add_argument("--idle-edits", type=int, default=10, help="Edits timed after the load.")
    parser.add_argument("--bare-chunks", type=int, default=600, help="Chunks for the bare rate.")
    parser.add_argument("--timeout", type=float, default=3600.0, help="Most seconds for the load.")
    parser.add_argument("--keep", action="store_true", help="Keep the run's topics and indexes.")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        parser.error(f"{args.corpus} is not a directory")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    console = Console(stderr=True)
    options = RunOptions(
        corpus=args.corpus,
        kafka_bootstrap=stream_settings(os.environ).kafka_bootstrap,
        elasticsearch_url=load(IndexerSettings, os.environ).elasticsearch_url,
        limit=args.limit,
        edit_every_s=args.edit_every,
        idle_edits=args.idle_edits,
        bare_chunks=args.bare_chunks,
        timeout_s=args.timeout,
        keep=args.keep,
    )
    try:
        figures = asyncio.run(run_corpus(options, console))
    except (WorkerFailed, ValueError) as error:
        console.print(f"[bold red]error:[/bold red] {error}", highlight=False)
        return 1
    for line in report_lines(figures):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
