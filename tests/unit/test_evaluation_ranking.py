"""Expected-URI matching and the collapse of chunk hits to distinct documents."""

from __future__ import annotations

import pytest

from mmrag.evaluation.ranking import distinct_documents, expected_ranks, uri_matches


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///usr/share/doc/html/sql-select.html", "sql-select.html"),
        ("file:///usr/share/doc/html/sql-select.html", "html/sql-select.html"),
        ("file:///usr/share/doc/html/sql-select.html", "/usr/share/doc/html/sql-select.html"),
        (
            "file:///usr/share/doc/html/sql-select.html",
            "file:///usr/share/doc/html/sql-select.html",
        ),
        ("file:///docs/my%20notes.md", "my notes.md"),
        ("file:///docs/my notes.md", "my%20notes.md"),
        ("https://cms.example/posts/42", "https://cms.example/posts/42"),
        ("https://cms.example/posts/42", "posts/42"),
    ],
)
def test_matches(uri: str, expected: str) -> None:
    assert uri_matches(uri, expected)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///html/mysql-select.html", "sql-select.html"),  # not at a path boundary
        ("file:///html/sql-select.html", "sql-select.htm"),
        ("file:///html/sql-select.html", "other/sql-select.html"),
        ("file:///html/sql-select.html", ""),
    ],
)
def test_does_not_match(uri: str, expected: str) -> None:
    assert not uri_matches(uri, expected)


def test_distinct_documents_keep_the_rank_of_their_first_chunk() -> None:
    hits = [{"uri": "a"}, {"uri": "b"}, {"uri": "a"}, {"uri": "c"}, {"uri": "b"}]
    assert distinct_documents(hits) == ["a", "b", "c"]
    assert distinct_documents([]) == []


def test_expected_ranks() -> None:
    documents = ["file:///d/x.html", "file:///d/y.html", "file:///d/z.html"]
    assert expected_ranks(documents, ["z.html", "y.html", "w.html"]) == {
        "z.html": 3,
        "y.html": 2,
        "w.html": None,
    }
