"""What Elasticsearch says, sorted by what the caller must do: the one place that reads the
client's exceptions (the worker's store and the query API both use it).

    ELASTICSEARCH_ERRORS      what a request can raise when it does not succeed
    ├── no answer            connection refused, timeout            → unavailable
    └── ApiError             an answer with a status
        ├── 404              index or document missing (``is_missing``); a missing
        │                    *index* is unavailable to the writer (a restart recreates it)
        ├── 429, 5xx         overloaded or broken                   → unavailable
        ├── closed/blocked   ``index_closed_exception`` … whatever the status → unavailable
        └── other 4xx        the request is wrong for this document → the caller's failure

*Unavailable* becomes :class:`StoreUnavailable` on the write side (retry, then stop
without committing) and a 503 on the read side (``query_api.errors.ServiceUnavailable``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, NotFoundError

from indexer.errors import StoreUnavailable

NO_ANSWER: tuple[type[Exception], ...] = (TransportConnectionError, ConnectionTimeout)
"""Elasticsearch could not be reached or did not answer in time."""
ELASTICSEARCH_ERRORS: tuple[type[Exception], ...] = (*NO_ANSWER, ApiError)
"""Everything the client raises for a request that did not succeed."""
_UNAVAILABLE_TYPES = frozenset(
    {"index_closed_exception", "cluster_block_exception", "index_not_found_exception"}
)
"""Error types that say the index cannot serve now (closed, blocked, gone: a restarted
worker creates it again), whatever the status."""


def is_unavailable(status: int, error_type: str | None = None) -> bool:
    """Whether an answer with this status (and error type) means *try again later*."""
    return status == 429 or status >= 500 or error_type in _UNAVAILABLE_TYPES


def is_missing(error: Exception) -> bool:
    """Whether Elasticsearch answered 404: the index or the document is not there."""
    return isinstance(error, NotFoundError)


def error_type(error: ApiError) -> str | None:
    """The ``error.type`` of an answer's body (``mapper_parsing_exception`` …), if any."""
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        found = body["error"].get("type")
        return str(found) if found is not None else None
    return None


def failure_reason(error: Exception, doing: str) -> str:
    """A human sentence for a failed request: no answer, or the status and message."""
    if isinstance(error, ApiError):
        return f"Elasticsearch answered {error.meta.status} while {doing}: {error.message}"
    return f"Elasticsearch is unavailable while {doing}: {error}"


def store_unavailable(error: Exception, doing: str) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` that ``error`` amounts to, or ``None`` when it is not
    a transient failure (a 400 for a bad request, say)."""
    if isinstance(error, NO_ANSWER):
        return StoreUnavailable(failure_reason(error, doing))
    if isinstance(error, ApiError) and is_unavailable(error.meta.status, error_type(error)):
        return StoreUnavailable(failure_reason(error, doing))
    return None


@contextmanager
def unavailable_as_transient(doing: str) -> Iterator[None]:
    """Around Elasticsearch requests: an error that means *try again later* raises
    :class:`StoreUnavailable` (see :func:`store_unavailable`); any other propagates."""
    try:
        yield
    except ELASTICSEARCH_ERRORS as error:
        unavailable = store_unavailable(error, doing)
        if unavailable is None:
            raise
        raise unavailable from error


def found_items(docs: list[dict[str, Any]], doing: str) -> list[dict[str, Any]]:
    """The ``mget`` items that were found; an item with an ``error`` (a closed index, a
    shard that is not available) is not an answer, so it raises rather than reading as
    *not found*."""
    failed = [item for item in docs if "error" in item]
    if failed:
        error = failed[0]["error"]
        kind = error.get("type") if isinstance(error, dict) else error
        raise StoreUnavailable(
            f"Elasticsearch could not read {len(failed)} of {len(docs)} documents while "
            f"{doing}: {kind}: {error.get('reason') if isinstance(error, dict) else ''}"
        )
    return [item for item in docs if item.get("found")]


class GenerationMismatch(RuntimeError):
    """The alias points at a generation built with other models than the configured ones."""

    @classmethod
    def check(cls, generation: str, meta: dict[str, Any], wanted: dict[str, Any]) -> None:
        """Raise when the generation's ``_meta`` differs from ``wanted`` (a
        :meth:`VectorSpace.as_meta`) in any key."""
        differing = [key for key in wanted if meta.get(key) != wanted[key]]
        if differing:
            details = ", ".join(f"{k}: {meta.get(k)!r} → {wanted[k]!r}" for k in differing)
            raise cls(
                f"index generation {generation} was built with other models ({details}); "
                "build a new generation for the new models, or configure the old ones"
            )


@dataclass(frozen=True)
class BulkItemFailure:
    """One item of a bulk response that did not succeed."""

    operation: str
    status: int
    item_id: str
    reason: Any
    result: dict[str, Any]


def bulk_item_failure(item: dict[str, Any], doing: str) -> BulkItemFailure:
    """What a failed bulk item says (``item``: ``{operation: result}``, as the bulk helpers
    yield it); raises :class:`StoreUnavailable` when the failure means *try again later*."""
    operation, result = next(iter(item.items()))
    status = int(result.get("status", 0))
    reason = result.get("error", {})
    kind = reason.get("type") if isinstance(reason, dict) else None
    if is_unavailable(status, kind):
        raise StoreUnavailable(f"{doing}: {operation} refused with {status}: {result}")
    return BulkItemFailure(operation, status, str(result.get("_id")), reason, result)
