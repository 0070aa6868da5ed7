"""One ``_msearch`` for all of a query's retrievers (pure: the request lines and the reading
of the answer, unit-tested as dicts).

BM25 and the kNN retrievers used to be separate ``_search`` requests sent concurrently; on
a small machine each request has a fixed cost on both sides (HTTP, the client, the search
thread pool) that is not small next to the search itself, so they go as one ``_msearch``:
every search keeps its own body, so each retriever's ranking is what it was.

An ``_msearch`` answers 200 even when a search failed: each failed search is an item with
``error`` and ``status``. :func:`search_responses` turns the first failure into
:class:`SearchFailed` (``missing`` when the index is gone: nothing indexed yet, or the
generation was dropped between reading the alias and searching it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Body = dict[str, Any]

_MISSING_TYPES = frozenset({"index_not_found_exception"})


class SearchFailed(Exception):
    """One search of an ``_msearch`` did not succeed."""

    def __init__(self, status: int, kind: str | None, reason: str) -> None:
        self.status = status
        self.kind = kind
        self.reason = reason
        super().__init__(f"Elasticsearch answered {status} while running the search: {reason}")

    @property
    def missing(self) -> bool:
        """The index searched is not there (a 404 or an ``index_not_found_exception``)."""
        return self.status == 404 or self.kind in _MISSING_TYPES


def msearch_lines(bodies: Sequence[Body]) -> list[Body]:
    """The ``_msearch`` lines: an empty header (the index is the request's) before each
    body, in order."""
    lines: list[Body] = []
    for body in bodies:
        lines.extend(({}, body))
    return lines


def search_responses(answer: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """The ``count`` search responses of an ``_msearch`` answer, in the order sent; the
    first failed one raises :class:`SearchFailed`."""
    responses = answer.get("responses")
    if not isinstance(responses, list) or len(responses) != count:
        found = len(responses) if isinstance(responses, list) else "no"
        raise SearchFailed(502, None, f"expected {count} search responses, got {found}")
    for response in responses:
        if not isinstance(response, dict):
            raise SearchFailed(502, None, f"a search response is not an object: {response!r}")
        error = response.get("error")
        if error is not None:
            kind = error.get("type") if isinstance(error, dict) else None
            detail = error.get("reason") if isinstance(error, dict) else error
            status = int(response.get("status") or 500)
            raise SearchFailed(status, None if kind is None else str(kind), f"{kind}: {detail}")
    return responses


def hit_list(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A search response's hits, best first."""
    hits: list[dict[str, Any]] = response.get("hits", {}).get("hits", [])
    return hits
