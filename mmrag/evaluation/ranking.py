"""From the API's chunk hits to a ranking of distinct documents, and which of them a
question expected. Pure.

A hit's document is its ``uri``. An expected entry matches a document when, after both
lose a ``file://`` prefix and are URL-decoded, they are equal, or the document's URI ends
with the entry at a path boundary (``sql-select.html`` matches
``/usr/share/doc/html/sql-select.html``, not ``mysql-select.html``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

RELEVANT_PREFIX = "expected:"
OTHER_PREFIX = "document:"


def normalise_uri(uri: str) -> str:
    """``file:///a/b%20c.html`` → ``/a/b c.html``; other schemes are only URL-decoded."""
    return unquote(uri.removeprefix("file://").strip())


def uri_matches(uri: str, expected: str) -> bool:
    document, wanted = normalise_uri(uri), normalise_uri(expected)
    if not wanted:
        return False
    if document == wanted:
        return True
    return document.endswith(wanted if wanted.startswith("/") else f"/{wanted}")


def distinct_documents(hits: Iterable[Mapping[str, Any]]) -> list[str]:
    """The URIs of the hits' documents, each once, at the rank of its first hit."""
    return list(dict.fromkeys(str(hit["uri"]) for hit in hits))


def labelled_ranking(documents: Sequence[str], expected: Sequence[str]) -> list[str]:
    """The ranking as metric labels, one per document, in the same order: the first
    document matching an expected entry becomes ``expected:<entry>``; every other document
    (a later one matching an entry already found included) is ``document:<uri>``, so an
    expected page counts once, at its best rank, and no rank moves."""
    labels: list[str] = []
    found: set[str] = set()
    for uri in dict.fromkeys(documents):
        entry = next((e for e in expected if e not in found and uri_matches(uri, e)), None)
        if entry is None:
            labels.append(f"{OTHER_PREFIX}{uri}")
        else:
            found.add(entry)
            labels.append(f"{RELEVANT_PREFIX}{entry}")
    return labels


def expected_ranks(documents: Sequence[str], expected: Sequence[str]) -> dict[str, int | None]:
    """For each expected entry, the 1-based rank of the first document matching it."""
    labels = labelled_ranking(documents, expected)
    return {
        entry: labels.index(f"{RELEVANT_PREFIX}{entry}") + 1
        if f"{RELEVANT_PREFIX}{entry}" in labels
        else None
        for entry in expected
    }
