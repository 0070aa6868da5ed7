"""The one translation of Elasticsearch's errors (``indexer.store.errors``), as the write
side (``StoreUnavailable``) and the read side (404 / 503) use it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from indexer.store.errors import (
    GenerationMismatch,
    failure_reason,
    is_missing,
    is_unavailable,
    store_unavailable,
)
from query_api.access import Caller
from query_api.documents import load_document
from query_api.errors import ServiceUnavailable
from query_api.index_space import IndexSpaceReader


def _answer(error: type[ApiError], status: int, error_type: str) -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "127.0.0.1", 9200),
    )
    return error(error_type, meta, {"error": {"type": error_type, "reason": "because"}})


def test_a_404_is_missing_other_answers_and_no_answer_are_not() -> None:
    assert is_missing(_answer(NotFoundError, 404, "index_not_found_exception"))
    assert not is_missing(_answer(ApiError, 400, "mapper_parsing_exception"))
    assert not is_missing(ConnectionError("refused"))


@pytest.mark.parametrize(
    ("status", "error_type", "unavailable"),
    [
        (429, None, True),
        (503, None, True),
        (400, "index_closed_exception", True),
        (403, "cluster_block_exception", True),
        (400, "mapper_parsing_exception", False),
        (409, "version_conflict_engine_exception", False),
    ],
)
def test_what_means_try_again_later(status: int, error_type: str | None, unavailable: bool) -> None:
    assert is_unavailable(status, error_type) is unavailable


def test_failure_reasons_say_what_was_being_done_and_what_came_back() -> None:
    answered = failure_reason(_answer(ApiError, 500, "boom"), "running the search")
    assert answered == "Elasticsearch answered 500 while running the search: boom"
    refused = ConnectionError("refused", errors=(OSError("connection refused"),))
    unreachable = failure_reason(refused, "reading document 'd'")
    assert unreachable == (
        "Elasticsearch is unavailable while reading document 'd': "
        "Connection error caused by: OSError(connection refused)"
    )


def test_store_unavailable_carries_the_same_reason() -> None:
    error = _answer(ApiError, 429, "es_rejected_execution_exception")
    unavailable = store_unavailable(error, "writing chunks")
    assert unavailable is not None
    assert unavailable.reason == failure_reason(error, "writing chunks")


def test_a_generation_mismatch_names_every_differing_key() -> None:
    wanted = {"text_model": "new", "text_dimensions": 384}
    GenerationMismatch.check("g-000001", dict(wanted), wanted)  # the same space: no error
    with pytest.raises(GenerationMismatch, match=r"g-000001 .*text_model: 'old' → 'new'"):
        GenerationMismatch.check("g-000001", {"text_model": "old", "text_dimensions": 384}, wanted)


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncElasticsearch]:
    # Nothing listens on the discard port: every request fails without an answer.
    client = AsyncElasticsearch("http://127.0.0.1:9", max_retries=0)
    try:
        yield client
    finally:
        await client.close()


async def test_the_read_side_answers_503_when_elasticsearch_is_unreachable(
    unreachable: AsyncElasticsearch,
) -> None:
    with pytest.raises(ServiceUnavailable, match="unavailable while reading document 'd'"):
        await load_document(unreachable, "documents", "d", Caller("anyone"))
    with pytest.raises(ServiceUnavailable, match="reading the chunk index mapping"):
        await IndexSpaceReader(unreachable, "chunks").read()
