"""The results of an evaluation, and the pure steps that make them from what the API
answered: scoring a run's rankings, summarising ``/ask``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from mmrag.evaluation.labelled_set import LabelledQuestion
from mmrag.evaluation.metrics import mean_scores, score_questions
from mmrag.evaluation.ranking import expected_ranks, labelled_ranking, uri_matches
from mmrag.evaluation.runs import RunSpec


@dataclass(frozen=True)
class Answered:
    """What ``/search`` gave for one question: distinct documents, best first."""

    documents: tuple[str, ...]
    latency_ms: float
    took_ms: float | None = None
    """The API's own ``took_ms``."""


@dataclass(frozen=True)
class QuestionResult:
    question_id: str
    documents: tuple[str, ...]
    """The top ``k`` distinct documents."""
    ranks: dict[str, int | None]
    """Each expected entry's rank among ``documents`` (``None``: not in the top k)."""
    scores: dict[str, float]
    latency_ms: float
    took_ms: float | None


@dataclass(frozen=True)
class RunResult:
    spec: RunSpec
    questions: tuple[QuestionResult, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    unavailable: str | None = None
    """Why the API could not do this run (e.g. an API without ``profile``)."""

    @property
    def latency_mean_ms(self) -> float | None:
        return _mean([q.latency_ms for q in self.questions])

    @property
    def latency_p95_ms(self) -> float | None:
        return percentile([q.latency_ms for q in self.questions], 95)


@dataclass(frozen=True)
class AskResult:
    question_id: str
    generator: str
    cited: tuple[str, ...]
    """The URIs of the answer's citations."""
    cites_expected: bool
    latency_ms: float

    @property
    def extractive(self) -> bool:
        return self.generator == "extractive"


@dataclass(frozen=True)
class AskSummary:
    answers: tuple[AskResult, ...]

    @property
    def share_citing_expected(self) -> float:
        return _mean([float(a.cites_expected) for a in self.answers]) or 0.0

    @property
    def share_extractive(self) -> float:
        return _mean([float(a.extractive) for a in self.answers]) or 0.0

    @property
    def latency_mean_ms(self) -> float | None:
        return _mean([a.latency_ms for a in self.answers])

    @property
    def latency_p95_ms(self) -> float | None:
        return percentile([a.latency_ms for a in self.answers], 95)


@dataclass(frozen=True)
class Evaluation:
    settings: dict[str, Any]
    runs: tuple[RunResult, ...]
    ask: AskSummary | None
    elapsed_s: float


def score_run(
    spec: RunSpec,
    questions: Sequence[LabelledQuestion],
    answered: Mapping[str, Answered],
    k: int,
) -> RunResult:
    """Metrics of one run, per question and averaged, from each question's documents."""
    top = {q.id: answered[q.id].documents[:k] for q in questions}
    rankings = {q.id: labelled_ranking(top[q.id], q.expected) for q in questions}
    scores = score_questions(rankings, {q.id: q.expected for q in questions}, k)
    results = tuple(
        QuestionResult(
            question_id=q.id,
            documents=top[q.id],
            ranks=expected_ranks(top[q.id], q.expected),
            scores=scores[q.id],
            latency_ms=answered[q.id].latency_ms,
            took_ms=answered[q.id].took_ms,
        )
        for q in questions
    )
    return RunResult(spec, results, mean_scores(scores))


def ask_result(
    question: LabelledQuestion, payload: Mapping[str, Any], latency_ms: float
) -> AskResult:
    """One ``/ask`` answer: does any citation point at an expected document?"""
    cited = tuple(str(citation["uri"]) for citation in payload.get("citations") or [])
    return AskResult(
        question_id=question.id,
        generator=str(payload.get("generator", "")),
        cited=cited,
        cites_expected=any(uri_matches(uri, e) for uri in cited for e in question.expected),
        latency_ms=latency_ms,
    )


def percentile(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile (``None`` for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None
