"""One ``_msearch`` for a query's retrievers: the lines sent and the reading of the answer."""

from __future__ import annotations

import pytest

from query_api.es_client import OrjsonNdjsonSerializer
from query_api.multi_search import SearchFailed, hit_list, msearch_lines, search_responses
from query_api.queries import SOURCE_FIELDS, with_sources


def test_each_body_follows_an_empty_header_in_order() -> None:
    bm25, knn = {"size": 20, "query": {}}, {"size": 20, "knn": {}}
    assert msearch_lines([bm25, knn]) == [{}, bm25, {}, knn]
    assert msearch_lines([]) == []


def test_responses_come_back_in_the_order_sent() -> None:
    first = {"hits": {"hits": [{"_id": "a"}, {"_id": "b"}]}, "status": 200}
    second = {"hits": {"hits": []}, "status": 200}
    responses = search_responses({"responses": [first, second]}, 2)
    assert [[hit["_id"] for hit in hit_list(r)] for r in responses] == [["a", "b"], []]


def test_a_failed_search_raises_with_its_status_and_reason() -> None:
    answer = {
        "responses": [
            {"hits": {"hits": []}, "status": 200},
            {
                "error": {"type": "search_phase_execution_exception", "reason": "all shards"},
                "status": 503,
            },
        ]
    }
    with pytest.raises(SearchFailed, match=r"503.*search_phase_execution_exception: all shards"):
        search_responses(answer, 2)
    with pytest.raises(SearchFailed) as raised:
        search_responses(answer, 2)
    assert (raised.value.status, raised.value.missing) == (503, False)


def test_a_missing_index_is_told_apart() -> None:
    answer = {
        "responses": [
            {
                "error": {"type": "index_not_found_exception", "reason": "no such index"},
                "status": 404,
            }
        ]
    }
    with pytest.raises(SearchFailed) as raised:
        search_responses(answer, 1)
    assert raised.value.missing
    assert raised.value.kind == "index_not_found_exception"


@pytest.mark.parametrize(
    "answer",
    [{}, {"responses": []}, {"responses": [{"hits": {"hits": []}}] * 3}, {"responses": ["x"]}],
)
def test_an_answer_of_the_wrong_shape_is_a_failure_not_an_empty_ranking(
    answer: dict[str, object],
) -> None:
    with pytest.raises(SearchFailed) as raised:
        search_responses(answer, 1)
    assert not raised.value.missing


def test_a_response_without_hits_has_none() -> None:
    assert hit_list({"status": 200}) == []


def test_the_lines_are_written_as_ndjson_with_orjson() -> None:
    lines = msearch_lines([{"size": 2, "knn": {"query_vector": [0.5, -0.25]}, "text": "é"}])
    written = OrjsonNdjsonSerializer().dumps(lines)
    assert written == b'{}\n{"size":2,"knn":{"query_vector":[0.5,-0.25]},"text":"\xc3\xa9"}\n'
    assert OrjsonNdjsonSerializer().loads(written) == lines


def test_with_sources_asks_for_the_hit_fields_never_the_vectors() -> None:
    body = {"size": 20, "_source": False, "query": {"match_all": {}}}
    asked = with_sources(body)
    assert asked["_source"] == {"includes": list(SOURCE_FIELDS)}
    assert not any("vector" in field for field in SOURCE_FIELDS)
    assert body["_source"] is False  # the original body is left as it was
    assert {key: value for key, value in asked.items() if key != "_source"} == {
        "size": 20,
        "query": {"match_all": {}},
    }
