"""Runs a labelled set against a running API: every question in every run, then ``/ask``
if wanted. Sequential on purpose, so the latencies of the runs are comparable."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mmrag.evaluation.client import ApiRejected, EvaluationApiError, Timed
from mmrag.evaluation.labelled_set import LabelledQuestion
from mmrag.evaluation.ranking import distinct_documents
from mmrag.evaluation.results import (
    Answered,
    AskResult,
    AskSummary,
    Evaluation,
    RunResult,
    ask_result,
    score_run,
)
from mmrag.evaluation.runs import RunSpec, ask_body, rejected_fields, search_body


class SearchApi(Protocol):
    def search(self, body: dict[str, Any]) -> Timed: ...

    def ask(self, body: dict[str, Any]) -> Timed: ...


class ProfileUnsupported(EvaluationApiError):
    """The API does not know the ``profile`` field, so it has no plain baselines."""


class Evaluator:
    def __init__(
        self,
        api: SearchApi,
        k: int = 10,
        chunk_k: int = 100,
        group_by: bool = True,
        on_step: Callable[[], None] | None = None,
    ) -> None:
        self._api = api
        self._k = k
        self._chunk_k = chunk_k
        self._group_by = group_by
        self._on_step = on_step or (lambda: None)

    @property
    def group_by(self) -> bool:
        """Whether results are grouped by the API (``False`` once an older API refused)."""
        return self._group_by

    def evaluate(
        self, questions: Sequence[LabelledQuestion], runs: Sequence[RunSpec], ask: bool
    ) -> Evaluation:
        started = time.perf_counter()
        results = tuple(self.run(questions, spec) for spec in runs)
        summary = AskSummary(tuple(self._ask(q) for q in questions)) if ask else None
        settings = {"k": self._k, "chunk_k": self._chunk_k, "group_by": self._group_by}
        return Evaluation(settings, results, summary, time.perf_counter() - started)

    def run(self, questions: Sequence[LabelledQuestion], spec: RunSpec) -> RunResult:
        answered = {}
        for number, question in enumerate(questions):
            try:
                answered[question.id] = self._search(question, spec)
            except ProfileUnsupported as error:
                for _ in questions[number:]:
                    self._on_step()
                return RunResult(spec, unavailable=str(error))
            self._on_step()
        return score_run(spec, questions, answered, self._k)

    def _search(self, question: LabelledQuestion, spec: RunSpec) -> Answered:
        body = search_body(
            question, spec, k=self._k, chunk_k=self._chunk_k, group_by=self._group_by
        )
        try:
            timed = self._api.search(body)
        except ApiRejected as error:
            refused = rejected_fields(error.errors) if error.status == 422 else set()
            if "group_by" in refused and self._group_by:
                self._group_by = False  # an API without grouping: collapse chunks here
                return self._search(question, spec)
            if "profile" in refused:
                raise ProfileUnsupported(
                    "this API has no `profile` field (it predates the plain baselines)"
                ) from error
            raise EvaluationApiError(f"question {question.id}: {error}") from error
        hits = timed.body.get("hits")
        if not isinstance(hits, list):
            raise EvaluationApiError(f"question {question.id}: /search answered no hits list")
        took = timed.body.get("took_ms")
        return Answered(
            documents=tuple(distinct_documents(hits)),
            latency_ms=timed.elapsed_ms,
            took_ms=float(took) if isinstance(took, int | float) else None,
        )

    def _ask(self, question: LabelledQuestion) -> AskResult:
        try:
            timed = self._api.ask(ask_body(question))
        except ApiRejected as error:
            raise EvaluationApiError(f"question {question.id}: {error}") from error
        self._on_step()
        return ask_result(question, timed.body, timed.elapsed_ms)
