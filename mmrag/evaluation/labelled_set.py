"""Labelled question sets: the JSONL (or JSON array) files ``mmrag eval`` runs.

One object per question::

    {"id": "pg-001", "question": "...", "expected": ["sql-createopfamily.html"],
     "split": "tune", "filters": {"source": ["fs:docs"]}, "notes": "optional"}

``expected`` lists the documents that answer the question, as URI suffixes or whole URIs
(see :mod:`mmrag.evaluation.ranking`). ``split`` is ``tune`` (used to choose settings) or
``held`` (never tuned on). ``filters`` are the API's ``SearchFilters``. Pure: parsing and
validation only; errors name the line (JSONL) or the item (JSON array).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from query_api.schemas import SearchFilters

Split = Literal["tune", "held"]
SPLITS: tuple[str, ...] = ("tune", "held", "all")


class LabelledSetError(ValueError):
    """The labelled set cannot be used; the message says where and why."""


class LabelledQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1, max_length=2000)
    expected: tuple[str, ...] = Field(min_length=1)
    """URI suffixes (``sql-select.html``) or whole URIs (``file:///docs/sql-select.html``)."""
    split: Split
    filters: SearchFilters | None = None
    notes: str | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("the question is blank")
        return question

    @field_validator("expected")
    @classmethod
    def _no_blank_expected(cls, expected: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in expected):
            raise ValueError("an expected URI is blank")
        return tuple(dict.fromkeys(item.strip() for item in expected))


def parse_labelled_set(text: str, source: str = "<labelled set>") -> list[LabelledQuestion]:
    """Questions from JSONL (one object per line; blank lines and ``#`` comments skipped)
    or from a JSON array. Raises :class:`LabelledSetError` naming every bad line."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise LabelledSetError(f"{source}: not valid JSON: {error}") from error
        entries = [(f"item {number}", item) for number, item in enumerate(items, start=1)]
    else:
        entries = list(_jsonl_entries(text.splitlines(), source))
    questions, problems = [], []
    for where, item in entries:
        try:
            questions.append(LabelledQuestion.model_validate(item))
        except ValidationError as error:
            problems.append(f"{source}, {where}: {_describe(error)}")
    problems += _duplicate_ids(questions, source)
    if problems:
        raise LabelledSetError("\n".join(problems))
    if not questions:
        raise LabelledSetError(f"{source}: no questions")
    return questions


def load_labelled_set(path: Path) -> list[LabelledQuestion]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise LabelledSetError(f"cannot read {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise LabelledSetError(f"{path}: not UTF-8 text: {error}") from error
    return parse_labelled_set(text, str(path))


def select_split(questions: Sequence[LabelledQuestion], split: str) -> list[LabelledQuestion]:
    """The questions of ``tune``, ``held`` or ``all``."""
    if split not in SPLITS:
        raise LabelledSetError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    return [q for q in questions if split == "all" or q.split == split]


def _jsonl_entries(lines: Iterable[str], source: str) -> Iterable[tuple[str, Any]]:
    problems = []
    entries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entries.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as error:
            problems.append(f"{source}, line {number}: not valid JSON: {error.msg}")
    if problems:
        raise LabelledSetError("\n".join(problems))
    return entries


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        parts.append(f"{where}: {problem['msg']}" if where else problem["msg"])
    return "; ".join(parts)


def _duplicate_ids(questions: Sequence[LabelledQuestion], source: str) -> list[str]:
    seen: set[str] = set()
    duplicates = []
    for question in questions:
        if question.id in seen:
            duplicates.append(f"{source}: the id {question.id!r} is used more than once")
        seen.add(question.id)
    return duplicates
