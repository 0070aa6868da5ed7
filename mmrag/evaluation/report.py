"""The evaluation as a rich table (terminal) or one JSON document (``--json``). Pure:
builds the renderables and the JSON-ready dict; the command prints them."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from mmrag.evaluation.metrics import metric_names
from mmrag.evaluation.results import AskSummary, Evaluation, RunResult


def results_table(evaluation: Evaluation, title: str) -> Table:
    """Rows: the runs (modes, then baselines); columns: metrics, questions, latency."""
    k = int(evaluation.settings["k"])
    names = metric_names(k)
    table = Table(title=title, caption=_caption(evaluation))
    table.add_column("retriever", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("questions", justify="right", no_wrap=True)
    table.add_column("mean ms", justify="right", no_wrap=True)
    for run in evaluation.runs:
        style = "dim" if run.spec.baseline else None
        if run.unavailable:
            table.add_row(run.spec.label, *["n/a"] * (len(names) + 2), style="dim")
            continue
        values = [f"{run.metrics[name]:.3f}" for name in names]
        latency = run.latency_mean_ms
        table.add_row(
            run.spec.label,
            *values,
            str(len(run.questions)),
            f"{latency:.0f}" if latency is not None else "–",
            style=style,
        )
    return table


def ask_table(summary: AskSummary) -> Table:
    table = Table(title=f"/ask over {len(summary.answers)} questions")
    for column in ("cites an expected page", "extractive fallback", "mean ms", "p95 ms"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{summary.share_citing_expected:.2f}",
        f"{summary.share_extractive:.2f}",
        _milliseconds(summary.latency_mean_ms),
        _milliseconds(summary.latency_p95_ms),
    )
    return table


def evaluation_json(evaluation: Evaluation, extra: dict[str, Any]) -> dict[str, Any]:
    """Everything: settings, per-run metrics and latencies, per-question ranks."""
    document: dict[str, Any] = {
        **extra,
        **evaluation.settings,
        "elapsed_s": round(evaluation.elapsed_s, 3),
        "runs": {run.spec.name: _run_json(run) for run in evaluation.runs},
    }
    if evaluation.ask is not None:
        document["ask"] = _ask_json(evaluation.ask)
    return document


def _run_json(run: RunResult) -> dict[str, Any]:
    return {
        "label": run.spec.label,
        "mode": run.spec.mode,
        "profile": run.spec.profile or "default",
        "available": run.unavailable is None,
        "unavailable_reason": run.unavailable,
        "metrics": run.metrics,
        "latency_ms": {"mean": run.latency_mean_ms, "p95": run.latency_p95_ms},
        "questions": [
            {
                "id": question.question_id,
                "ranks": question.ranks,
                "scores": question.scores,
                "documents": list(question.documents),
                "latency_ms": question.latency_ms,
                "took_ms": question.took_ms,
            }
            for question in run.questions
        ],
    }


def _ask_json(summary: AskSummary) -> dict[str, Any]:
    return {
        "questions": len(summary.answers),
        "share_citing_expected": summary.share_citing_expected,
        "share_extractive": summary.share_extractive,
        "latency_ms": {"mean": summary.latency_mean_ms, "p95": summary.latency_p95_ms},
        "answers": [
            {
                "id": answer.question_id,
                "generator": answer.generator,
                "cites_expected": answer.cites_expected,
                "cited": list(answer.cited),
                "latency_ms": answer.latency_ms,
            }
            for answer in summary.answers
        ],
    }


def _caption(evaluation: Evaluation) -> str:
    settings = evaluation.settings
    collapsed = f"{settings['chunk_k']} chunks per query collapsed to documents"
    if not settings["group_by"]:
        grouping = collapsed
    elif any(run.spec.baseline for run in evaluation.runs):
        grouping = f"modes grouped by document by the API, baselines: {collapsed}"
    else:
        grouping = "grouped by document by the API"
    caption = (
        "recall@n: share of questions with an expected page among the top n distinct "
        f"documents; {grouping}; took {evaluation.elapsed_s:.1f} s"
    )
    reasons = dict.fromkeys(run.unavailable for run in evaluation.runs if run.unavailable)
    return "\n".join([caption, *(f"n/a: {reason}" for reason in reasons)])


def _milliseconds(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "–"
