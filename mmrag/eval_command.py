"""``mmrag eval SET``: recall@1/5/10, MRR@10 and nDCG@10 of a running API on a labelled
question set, per mode and for three plain baselines over the same index (see
docs/evaluation.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mmrag.evaluation.labelled_set import SPLITS, LabelledSetError, load_labelled_set, select_split
from mmrag.evaluation.runs import MAX_CHUNK_K, MODES, parse_modes, plan_runs


def evaluate(
    labelled_set: Annotated[
        Path, typer.Argument(metavar="SET", help="A labelled set (JSONL or a JSON array).")
    ],
    api: Annotated[
        str, typer.Option("--api", envvar="MMRAG_API_URL", help="Base URL of a running API.")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="MMRAG_API_KEY", help="Sent as X-API-Key.")
    ] = None,
    split: Annotated[str, typer.Option(help="tune, held or all.")] = "all",
    k: Annotated[
        int, typer.Option("--k", min=1, max=MAX_CHUNK_K, help="Cutoff in distinct documents.")
    ] = 10,
    chunk_k: Annotated[
        int,
        typer.Option(min=1, max=MAX_CHUNK_K, help="Chunks asked per query (to fill k documents)."),
    ] = MAX_CHUNK_K,
    modes: Annotated[
        str, typer.Option(help=f"Comma-separated, from {', '.join(MODES)}.")
    ] = ",".join(MODES),
    baselines: Annotated[
        bool, typer.Option(help="Also run plain BM25, plain kNN and plain RRF k=60.")
    ] = True,
    group_by: Annotated[
        bool, typer.Option(help="Ask the API to group hits by document (if it can).")
    ] = True,
    ask: Annotated[
        bool, typer.Option("--ask", help="Also ask /ask each question and check its citations.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one answer.")] = 120.0,
) -> None:
    """Measure retrieval (and optionally /ask) of a running API on a labelled set."""
    from mmrag.evaluation.client import EvaluationApiError, EvaluationClient
    from mmrag.evaluation.report import ask_table, evaluation_json, results_table
    from mmrag.evaluation.runner import Evaluator

    console, errors = Console(), Console(stderr=True)
    if split not in SPLITS:
        raise typer.BadParameter(f"choose from {', '.join(SPLITS)}", param_hint="--split")
    try:
        runs = plan_runs(parse_modes(modes), baselines)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--modes") from error
    try:
        questions = select_split(load_labelled_set(labelled_set), split)
    except LabelledSetError as error:
        errors.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(2) from error
    if not questions:
        errors.print(f"error: {labelled_set} has no questions in the split {split!r}")
        raise typer.Exit(2)

    steps = len(questions) * (len(runs) + int(ask))
    progress = Progress(
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        console=errors,
        transient=True,
    )
    task = progress.add_task("eval", total=steps)
    try:
        with EvaluationClient(api, api_key, timeout) as client, progress:
            evaluator = Evaluator(
                client,
                k=k,
                chunk_k=chunk_k,
                group_by=group_by,
                on_step=lambda: progress.advance(task),
            )
            evaluation = evaluator.evaluate(questions, runs, ask)
    except EvaluationApiError as error:
        errors.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(1) from error

    if as_json:
        extra = {"set": str(labelled_set), "split": split, "api": api, "questions": len(questions)}
        print(json.dumps(evaluation_json(evaluation, extra), indent=2))
        return
    title = f"{labelled_set.name}: split {split}, {len(questions)} questions, k={k}"
    console.print(results_table(evaluation, title))
    if evaluation.ask is not None:
        console.print(ask_table(evaluation.ask))
