"""Runs and request bodies, the fallback for older APIs, /ask summaries and the report."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from mmrag.evaluation.client import ApiRejected, EvaluationApiError, Timed
from mmrag.evaluation.labelled_set import LabelledQuestion, parse_labelled_set
from mmrag.evaluation.report import ask_table, evaluation_json, results_table
from mmrag.evaluation.results import ask_result, percentile
from mmrag.evaluation.runner import Evaluator
from mmrag.evaluation.runs import (
    BASELINES,
    parse_modes,
    plan_runs,
    rejected_fields,
    search_body,
)

QUESTIONS = parse_labelled_set(
    '{"id": "q1", "question": "first", "expected": ["a.html"], "split": "tune"}\n'
    '{"id": "q2", "question": "second", "expected": ["b.html"], "split": "held",'
    ' "filters": {"tags": ["pg"]}}\n'
)


def test_plan_runs() -> None:
    runs = plan_runs(parse_modes("hybrid, vector"), baselines=True)
    assert [run.name for run in runs] == [
        "hybrid",
        "vector",
        "baseline-bm25",
        "baseline-knn",
        "baseline-rrf",
    ]
    assert [(run.mode, run.profile) for run in BASELINES] == [
        ("lexical", "plain"),
        ("vector", "plain"),
        ("hybrid", "plain"),
    ]
    assert [run.name for run in plan_runs(["lexical"], baselines=False)] == ["lexical"]
    with pytest.raises(ValueError, match="unknown mode 'bm25'"):
        plan_runs(["bm25"], baselines=True)
    with pytest.raises(ValueError, match="nothing to run"):
        plan_runs([], baselines=False)


def test_search_bodies() -> None:
    default, baseline = plan_runs(["hybrid"], baselines=True)[:2]
    assert search_body(QUESTIONS[0], default, k=10, chunk_k=100, group_by=False) == {
        "query": "first",
        "k": 100,
        "mode": "hybrid",
    }
    assert search_body(QUESTIONS[0], default, k=10, chunk_k=100, group_by=True) == {
        "query": "first",
        "k": 10,
        "mode": "hybrid",
        "group_by": "document",
    }
    # The plain baselines are never grouped by the API: their chunks are collapsed here.
    assert search_body(QUESTIONS[1], baseline, k=10, chunk_k=50, group_by=True) == {
        "query": "second",
        "k": 50,
        "mode": "lexical",
        "profile": "plain",
        "filters": {"tags": ["pg"]},
    }


def test_rejected_fields_reads_fastapis_extra_forbidden() -> None:
    detail = [
        {"type": "extra_forbidden", "loc": ["body", "profile"], "msg": "Extra inputs"},
        {"type": "extra_forbidden", "loc": ["body", "group_by"], "msg": "Extra inputs"},
        {"type": "less_than_equal", "loc": ["body", "k"], "msg": "too big"},
    ]
    assert rejected_fields(detail) == {"profile", "group_by"}
    assert rejected_fields("not a list") == set()


class OldApi:
    """Answers like an mmrag API without ``profile`` and ``group_by``: its 422 body has a
    readable ``detail`` and the validation ``errors`` (as ``EvaluationClient`` reads it)."""

    def __init__(self, ranking: dict[str, list[str]]) -> None:
        self.ranking = ranking
        self.bodies: list[dict[str, Any]] = []

    def search(self, body: dict[str, Any]) -> Timed:
        self.bodies.append(body)
        unknown = [name for name in ("profile", "group_by") if name in body]
        if unknown:
            errors = [{"type": "extra_forbidden", "loc": ["body", name]} for name in unknown]
            detail = "; ".join(f"{name}: unknown field" for name in unknown)
            raise ApiRejected("/search", 422, detail, errors)
        hits = [{"uri": uri} for uri in self.ranking[body["query"]]]
        return Timed({"hits": hits, "took_ms": 3.0}, 4.0)

    def ask(self, body: dict[str, Any]) -> Timed:
        citations = [{"uri": self.ranking[body["question"]][0]}]
        return Timed({"citations": citations, "generator": "extractive"}, 40.0)


def test_an_older_api_gives_modes_and_reports_baselines_unavailable() -> None:
    api = OldApi(
        {
            "first": ["file:///s/a.html", "file:///s/a.html", "file:///s/c.html"],
            "second": ["file:///s/c.html", "file:///s/b.html"],
        }
    )
    steps = []
    evaluator = Evaluator(api, k=10, chunk_k=100, on_step=lambda: steps.append(1))
    evaluation = evaluator.evaluate(QUESTIONS, plan_runs(["hybrid"], baselines=True), ask=True)
    hybrid, *baselines = evaluation.runs
    assert hybrid.unavailable is None
    assert hybrid.metrics["recall@1"] == pytest.approx(0.5)
    assert hybrid.metrics["mrr@10"] == pytest.approx(0.75)
    assert hybrid.questions[0].documents == ("file:///s/a.html", "file:///s/c.html")
    assert all(run.unavailable and "profile" in run.unavailable for run in baselines)
    assert evaluation.settings["group_by"] is False
    assert len(steps) == 2 * 4 + 2
    assert evaluation.ask is not None
    assert evaluation.ask.share_citing_expected == pytest.approx(0.5)
    assert evaluation.ask.share_extractive == 1.0

    document = evaluation_json(evaluation, {"set": "s.jsonl"})
    assert document["set"] == "s.jsonl"
    assert document["runs"]["hybrid"]["questions"][1]["ranks"] == {"b.html": 2}
    assert document["runs"]["baseline-rrf"]["available"] is False
    assert document["ask"]["questions"] == 2

    output = io.StringIO()
    console = Console(file=output, width=200)
    console.print(results_table(evaluation, "s.jsonl: split all"))
    console.print(ask_table(evaluation.ask))
    text = output.getvalue()
    assert "s.jsonl: split all" in text
    assert "recall@10" in text
    assert "0.500" in text
    assert "baseline: plain RRF k=60" in text
    assert "n/a: this API has no `profile` field" in text
    assert "extractive fallback" in text


def test_other_api_errors_stop_the_evaluation() -> None:
    class BrokenApi(OldApi):
        def search(self, body: dict[str, Any]) -> Timed:
            raise ApiRejected("/search", 503, "elasticsearch unavailable")

    with pytest.raises(EvaluationApiError, match="question q1: POST /search answered 503"):
        Evaluator(BrokenApi({})).evaluate(QUESTIONS, plan_runs(["hybrid"], False), ask=False)


def test_ask_result_checks_citations_against_expected_pages() -> None:
    question = LabelledQuestion(id="q", question="x", expected=("b.html",), split="held")
    cited = {"citations": [{"uri": "file:///s/a.html"}, {"uri": "file:///s/b.html"}]}
    result = ask_result(question, {**cited, "generator": "gemma"}, 10.0)
    assert result.cites_expected
    assert not result.extractive
    nothing = ask_result(question, {"citations": [], "generator": "extractive"}, 10.0)
    assert not nothing.cites_expected
    assert nothing.extractive


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 95) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([float(n) for n in range(1, 101)], 95) == 95.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0
