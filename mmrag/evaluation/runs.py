"""What one ``mmrag eval`` compares: the API's modes with its default profile, and the
three plain baselines over the same index. Pure: run specifications and request bodies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmrag.evaluation.labelled_set import LabelledQuestion

MODES: tuple[str, ...] = ("hybrid", "lexical", "vector")
MAX_CHUNK_K = 100
"""The API's largest ``k``: enough chunks to fill ten distinct documents."""


@dataclass(frozen=True)
class RunSpec:
    name: str
    """Key in the JSON report."""
    label: str
    """Row name in the table."""
    mode: str
    profile: str | None
    """``None``: the API's default (the field is not sent, so older APIs answer too)."""

    @property
    def baseline(self) -> bool:
        return self.profile == "plain"


BASELINES: tuple[RunSpec, ...] = (
    RunSpec("baseline-bm25", "baseline: plain BM25", "lexical", "plain"),
    RunSpec("baseline-knn", "baseline: plain kNN", "vector", "plain"),
    RunSpec("baseline-rrf", "baseline: plain RRF k=60", "hybrid", "plain"),
)


def plan_runs(modes: Sequence[str], baselines: bool) -> list[RunSpec]:
    """The runs for the given modes (API default profile), then the baselines if wanted."""
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        raise ValueError(f"unknown mode {unknown[0]!r}; choose from {', '.join(MODES)}")
    if not modes and not baselines:
        raise ValueError("nothing to run: give at least one mode or keep the baselines")
    runs = [RunSpec(mode, mode, mode, None) for mode in dict.fromkeys(modes)]
    return runs + (list(BASELINES) if baselines else [])


def parse_modes(text: str) -> list[str]:
    """``"hybrid, lexical"`` → ``["hybrid", "lexical"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


def search_body(
    question: LabelledQuestion, run: RunSpec, *, k: int, chunk_k: int, group_by: bool
) -> dict[str, Any]:
    """The ``POST /search`` JSON for one question in one run.

    With ``group_by`` (default-profile runs only: the plain baselines are ungrouped by
    definition) the API returns ``k`` documents; otherwise ``chunk_k`` chunks are asked
    for and collapsed to distinct documents here.
    """
    grouped = group_by and not run.baseline
    body: dict[str, Any] = {
        "query": question.question,
        "k": k if grouped else chunk_k,
        "mode": run.mode,
    }
    if run.profile is not None:
        body["profile"] = run.profile
    if grouped:
        body["group_by"] = "document"
    filters = _filters(question)
    if filters:
        body["filters"] = filters
    return body


def ask_body(question: LabelledQuestion) -> dict[str, Any]:
    """The non-streaming ``POST /ask`` JSON (the API's default mode and passage count)."""
    body: dict[str, Any] = {"question": question.question, "stream": False}
    filters = _filters(question)
    if filters:
        body["filters"] = filters
    return body


def rejected_fields(errors: Any) -> set[str]:
    """The request fields a 422 answer refuses as unknown (pydantic's ``extra_forbidden``
    in the answer's list of validation errors), e.g. ``profile`` from an API older than
    the baselines."""
    if not isinstance(errors, list):
        return set()
    fields = set()
    for problem in errors:
        if not isinstance(problem, Mapping):
            continue
        location = problem.get("loc") or []
        if problem.get("type") == "extra_forbidden" and location:
            fields.add(str(location[-1]))
    return fields


def _filters(question: LabelledQuestion) -> dict[str, Any]:
    if question.filters is None:
        return {}
    return question.filters.model_dump(mode="json", exclude_none=True)
