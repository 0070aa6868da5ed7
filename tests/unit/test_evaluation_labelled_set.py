"""The labelled-set format: good files load, bad lines are named by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrag.evaluation.labelled_set import (
    LabelledSetError,
    load_labelled_set,
    parse_labelled_set,
    select_split,
)

GOOD: list[dict[str, object]] = [
    {
        "id": "pg-001",
        "question": "make a group of operators",
        "expected": ["a.html"],
        "split": "tune",
    },
    {
        "id": "pg-002",
        "question": "how far behind is the replica",
        "split": "held",
        "expected": ["b.html", "file:///docs/c.html"],
        "notes": "two pages answer it",
        "filters": {"source": ["fs:pg"], "uri_prefix": "file:///docs"},
    },
]


def _jsonl(items: list[dict[str, object]]) -> str:
    return "\n".join(json.dumps(item) for item in items) + "\n"


def test_jsonl_with_blank_lines_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text("# my questions\n\n" + _jsonl(GOOD))
    questions = load_labelled_set(path)
    assert [q.id for q in questions] == ["pg-001", "pg-002"]
    assert questions[1].expected == ("b.html", "file:///docs/c.html")
    assert questions[1].filters is not None
    assert questions[1].filters.source == ["fs:pg"]
    assert questions[1].notes == "two pages answer it"


def test_json_array() -> None:
    questions = parse_labelled_set(json.dumps(GOOD))
    assert [q.split for q in questions] == ["tune", "held"]


def test_splits() -> None:
    questions = parse_labelled_set(_jsonl(GOOD))
    assert [q.id for q in select_split(questions, "tune")] == ["pg-001"]
    assert [q.id for q in select_split(questions, "held")] == ["pg-002"]
    assert len(select_split(questions, "all")) == 2
    with pytest.raises(LabelledSetError, match="unknown split 'dev'"):
        select_split(questions, "dev")


def test_bad_lines_are_named_by_line_number() -> None:
    text = (
        _jsonl(GOOD[:1])
        + "\n"
        + '{"id": "x", "question": "q", "expected": [], "split": "tune"}\n'
        + '{"id": "y", "question": "q", "expected": ["a"], "split": "dev"}\n'
        + '{"id": "z", "question": "q", "expected": ["a"], "split": "held", "extra": 1}\n'
        + '{"id": "w", "question": "q", "expected": ["a"], "split": "held",'
        + ' "filters": {"colour": "red"}}\n'
    )
    with pytest.raises(LabelledSetError) as caught:
        parse_labelled_set(text, "set.jsonl")
    message = str(caught.value)
    assert "set.jsonl, line 3: expected" in message
    assert "set.jsonl, line 4: split" in message
    assert "set.jsonl, line 5: extra" in message
    assert "set.jsonl, line 6: filters.colour" in message
    assert "line 1" not in message


def test_invalid_json_is_named_by_line_number() -> None:
    with pytest.raises(LabelledSetError, match=r"s\.jsonl, line 2: not valid JSON"):
        parse_labelled_set(_jsonl(GOOD[:1]) + "{not json\n", "s.jsonl")


def test_blank_question_and_blank_expected_entries_are_refused() -> None:
    text = _jsonl(
        [
            {"id": "a", "question": "  ", "expected": ["x"], "split": "tune"},
            {"id": "b", "question": "q", "expected": ["x", " "], "split": "tune"},
        ]
    )
    with pytest.raises(LabelledSetError) as caught:
        parse_labelled_set(text, "s")
    assert "line 1: question: Value error, the question is blank" in str(caught.value)
    assert "line 2: expected: Value error, an expected URI is blank" in str(caught.value)


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(LabelledSetError, match="'pg-001' is used more than once"):
        parse_labelled_set(_jsonl([GOOD[0], GOOD[0]]))


def test_array_items_are_named_by_position() -> None:
    with pytest.raises(LabelledSetError, match=r"item 2: question: Field required"):
        parse_labelled_set(json.dumps([GOOD[0], {"id": "b", "expected": ["x"], "split": "held"}]))


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(LabelledSetError, match="no questions"):
        parse_labelled_set("# nothing yet\n")
    with pytest.raises(LabelledSetError, match="cannot read"):
        load_labelled_set(tmp_path / "missing.jsonl")
