"""The retrievers' Elasticsearch bodies, as dicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from query_api.queries import (
    LexicalFields,
    acl_clause,
    bm25_body,
    clip_knn_body,
    filter_clauses,
    plain_bm25_body,
    text_knn_body,
)
from query_api.schemas import SearchFilters
from query_api.settings import ApiSettings

PUBLIC = {"bool": {"must_not": [{"exists": {"field": "acl"}}]}}


def test_anonymous_callers_see_only_chunks_without_acl() -> None:
    assert acl_clause([]) == PUBLIC


def test_principals_see_public_chunks_and_their_own() -> None:
    assert acl_clause(["team-b", "team-a", "team-a"]) == {
        "bool": {
            "should": [PUBLIC, {"terms": {"acl": ["team-a", "team-b"]}}],
            "minimum_should_match": 1,
        }
    }


def test_no_filters_give_access_and_modality_only() -> None:
    assert filter_clauses(SearchFilters(), [], ["text", "image"]) == [
        PUBLIC,
        {"terms": {"modality": ["image", "text"]}},
    ]


def test_every_filter_becomes_a_clause() -> None:
    filters = SearchFilters(
        source=["fs:docs"],
        doc_id=["d2", "d1"],
        uri_prefix="file:///srv/docs/",
        tags=["ops"],
        content_type=["application/pdf"],
        indexed_after=datetime(2026, 1, 1, tzinfo=UTC),
        indexed_before=datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert filter_clauses(filters, ["team-a"], ["image"]) == [
        acl_clause(["team-a"]),
        {"terms": {"modality": ["image"]}},
        {"terms": {"source": ["fs:docs"]}},
        {"terms": {"doc_id": ["d1", "d2"]}},
        {"terms": {"tags": ["ops"]}},
        {"terms": {"content_type": ["application/pdf"]}},
        {"prefix": {"uri": "file:///srv/docs/"}},
        {
            "range": {
                "indexed_at": {
                    "gte": "2026-01-01T00:00:00+00:00",
                    "lte": "2026-02-01T00:00:00+00:00",
                }
            }
        },
    ]


def test_one_sided_date_range() -> None:
    filters = SearchFilters(indexed_after=datetime(2026, 1, 1, tzinfo=UTC))
    assert filter_clauses(filters, [], ["text"])[-1] == {
        "range": {"indexed_at": {"gte": "2026-01-01T00:00:00+00:00"}}
    }


def test_bm25_searches_every_text_field_with_its_boost() -> None:
    clauses = filter_clauses(SearchFilters(), [], ["text"])
    fields = LexicalFields({"text": 1.0, "ocr_text": 1.0, "title": 2.0, "section_text": 1.5})
    assert bm25_body("kafka lag", clauses, size=20, fields=fields) == {
        "size": 20,
        "_source": False,
        "docvalue_fields": ["doc_id", "modality"],
        "track_total_hits": False,
        "query": {
            "bool": {
                "must": [
                    {
                        "multi_match": {
                            "query": "kafka lag",
                            "type": "most_fields",
                            "fields": ["text", "ocr_text", "title^2", "section_text^1.5"],
                        }
                    }
                ],
                "filter": clauses,
            }
        },
    }


def test_bm25_best_fields_has_a_tie_breaker_and_zero_boosts_drop_a_field() -> None:
    fields = LexicalFields(
        {"text": 1.0, "title": 0.0, "context": 0.25}, match_type="best_fields", tie_breaker=0.3
    )
    body = bm25_body("q", [], size=5, fields=fields)
    assert body["query"]["bool"]["must"] == [
        {
            "multi_match": {
                "query": "q",
                "type": "best_fields",
                "fields": ["text", "context^0.25"],
                "tie_breaker": 0.3,
            }
        }
    ]


def test_bm25_needs_a_field() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        LexicalFields({"text": 0.0, "title": 0.0})


def test_settings_give_the_field_names_and_boosts() -> None:
    settings = ApiSettings(title_boost=3, section_boost=0, lexical_match_type="cross_fields")
    fields = settings.lexical_fields()
    assert fields.weighted() == ["text", "ocr_text", "title^3", "context^0.3"]
    assert (fields.match_type, fields.tie_breaker) == ("cross_fields", 0.3)
    # Title and heading path are off by default (measured; see ApiSettings.title_boost).
    assert ApiSettings().lexical_fields().weighted() == ["text", "ocr_text", "context^0.3"]


def test_plain_bm25_matches_the_chunk_text_only() -> None:
    clauses = filter_clauses(SearchFilters(), ["team-a"], ["text", "image"])
    assert plain_bm25_body("kafka lag", clauses, size=30) == {
        "size": 30,
        "_source": False,
        "docvalue_fields": ["doc_id", "modality"],
        "track_total_hits": False,
        "query": {
            "bool": {
                "must": [{"match": {"text": {"query": "kafka lag"}}}],
                "filter": clauses,
            }
        },
    }


def test_text_knn_filters_inside_the_knn_search() -> None:
    clauses = filter_clauses(SearchFilters(tags=["a"]), ["p"], ["text", "image"])
    assert text_knn_body([0.5, 0.25], clauses, k=10, num_candidates=50) == {
        "size": 10,
        "_source": False,
        "docvalue_fields": ["doc_id", "modality"],
        "track_total_hits": False,
        "knn": {
            "field": "text_vector",
            "query_vector": [0.5, 0.25],
            "k": 10,
            "num_candidates": 50,
            "filter": {"bool": {"filter": clauses}},
        },
    }


def test_clip_knn_uses_the_clip_field_and_never_fewer_candidates_than_k() -> None:
    body = clip_knn_body([1.0], [], k=80, num_candidates=50)
    assert body["knn"]["field"] == "clip_vector"
    assert body["knn"]["num_candidates"] == 80
    assert body["size"] == 80


def test_time_filters_are_sent_in_utc() -> None:
    """Python allows offsets up to ±23:59, Elasticsearch only ±18:00: a ``+18:52`` filter
    made every search fail (found by ``mmrag bench faults``)."""
    far_east = timezone(timedelta(hours=18, minutes=52))
    filters = SearchFilters(
        indexed_after=datetime(1791, 1, 17, 15, 23, tzinfo=far_east),
        indexed_before=datetime(2026, 2, 1, 12, 0),  # naive: taken as UTC
    )
    clauses = filter_clauses(filters, principals=[], modalities=["text"])
    assert {
        "range": {
            "indexed_at": {"gte": "1791-01-16T20:31:00+00:00", "lte": "2026-02-01T12:00:00+00:00"}
        }
    } in clauses
