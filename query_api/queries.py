"""Pure builders of the retrievers' Elasticsearch request bodies (unit-tested as dicts).

Every retriever shares one filter: the request's ``SearchFilters``, the caller's access
(a chunk is visible when its ``acl`` is missing or empty, i.e. public, or names one of the
caller's principals) and the modalities searched. kNN applies it inside ``knn.filter``, so
HNSW returns the k nearest *visible* chunks rather than filtering after the fact.

Bodies ask for ids and each chunk's ``doc_id`` and ``modality`` (doc values, with
``_source: false``), so that results can be grouped by document; the fused top hits are
fetched afterwards. They never count the matches (``track_total_hits: false``): only the
top hits are read, and counting every match kept BM25 from skipping the documents that
cannot reach the top (block-max WAND), ≈ 1 ms of Elasticsearch CPU per question here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from query_api.schemas import SearchFilters

Body = dict[str, Any]

TEXT_FIELD = "text"
OCR_FIELD = "ocr_text"
TITLE_FIELD = "title"
SECTION_FIELD = "section_text"
"""The heading path (``Chapter > Section``) as searchable text."""
CONTEXT_FIELD = "context"
"""The words around an image, a PDF page's text."""
GROUP_FIELDS = ("doc_id", "modality")
"""Doc values every retriever returns with a chunk id, for grouping by document."""

MatchType = Literal["most_fields", "best_fields", "cross_fields"]


@dataclass(frozen=True)
class LexicalFields:
    """Which fields BM25 searches, with what boost, and how their scores combine
    (``multi_match``): ``most_fields`` sums the fields' scores; ``best_fields`` takes the
    best field's plus ``tie_breaker`` × the others'; ``cross_fields`` scores the fields as
    one blended field. A boost of 0 leaves a field out."""

    boosts: Mapping[str, float]
    match_type: MatchType = "most_fields"
    tie_breaker: float = 0.0

    def __post_init__(self) -> None:
        if not any(boost > 0 for boost in self.boosts.values()):
            raise ValueError("BM25 needs at least one field with a boost above 0")

    def weighted(self) -> list[str]:
        return [
            field if boost == 1 else f"{field}^{boost:g}"
            for field, boost in self.boosts.items()
            if boost > 0
        ]


def acl_clause(principals: Sequence[str]) -> Body:
    """Public chunks (no ``acl`` values) or chunks naming one of ``principals``."""
    public: Body = {"bool": {"must_not": [{"exists": {"field": "acl"}}]}}
    if not principals:
        return public
    return {
        "bool": {
            "should": [public, {"terms": {"acl": sorted(set(principals))}}],
            "minimum_should_match": 1,
        }
    }


def _utc(moment: datetime) -> str:
    """An instant as Elasticsearch reads it: in UTC. Python accepts offsets up to ±23:59,
    Elasticsearch only ±18:00 (a ``+18:52`` filter made the search fail: found by
    ``mmrag bench faults``); a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def filter_clauses(
    filters: SearchFilters, principals: Sequence[str], modalities: Sequence[str]
) -> list[Body]:
    """The shared ``bool.filter`` list: access first, then the request's filters."""
    clauses: list[Body] = [acl_clause(principals)]
    clauses.append({"terms": {"modality": sorted(set(modalities))}})
    for field, values in (
        ("source", filters.source),
        ("doc_id", filters.doc_id),
        ("tags", filters.tags),
        ("content_type", filters.content_type),
    ):
        if values is not None:
            clauses.append({"terms": {field: sorted(set(values))}})
    if filters.uri_prefix:
        clauses.append({"prefix": {"uri": filters.uri_prefix}})
    window: dict[str, str] = {}
    if filters.indexed_after is not None:
        window["gte"] = _utc(filters.indexed_after)
    if filters.indexed_before is not None:
        window["lte"] = _utc(filters.indexed_before)
    if window:
        clauses.append({"range": {"indexed_at": window}})
    return clauses


def bm25_body(text: str, filters: Sequence[Body], *, size: int, fields: LexicalFields) -> Body:
    """BM25 over the chunk's text, the text read in an image (OCR), its document's title,
    its heading path and its context, each with its boost (``multi_match``)."""
    match: Body = {"query": text, "type": fields.match_type, "fields": fields.weighted()}
    if fields.match_type != "most_fields":
        match["tie_breaker"] = fields.tie_breaker
    return {
        "size": size,
        "_source": False,
        "docvalue_fields": list(GROUP_FIELDS),
        "track_total_hits": False,
        "query": {"bool": {"must": [{"multi_match": match}], "filter": list(filters)}},
    }


def plain_bm25_body(text: str, filters: Sequence[Body], *, size: int) -> Body:
    """The baseline: BM25 ``match`` on the chunk's ``text`` alone (profile ``plain``)."""
    return {
        "size": size,
        "_source": False,
        "docvalue_fields": list(GROUP_FIELDS),
        "track_total_hits": False,
        "query": {
            "bool": {
                "must": [{"match": {TEXT_FIELD: {"query": text}}}],
                "filter": list(filters),
            }
        },
    }


def knn_body(
    field: str,
    vector: Sequence[float],
    filters: Sequence[Body],
    *,
    k: int,
    num_candidates: int,
) -> Body:
    """Approximate kNN (HNSW) over ``field`` with the shared filter applied during search."""
    return {
        "size": k,
        "_source": False,
        "docvalue_fields": list(GROUP_FIELDS),
        "track_total_hits": False,
        "knn": {
            "field": field,
            "query_vector": [float(value) for value in vector],
            "k": k,
            "num_candidates": max(num_candidates, k),
            "filter": {"bool": {"filter": list(filters)}},
        },
    }


def text_knn_body(
    vector: Sequence[float], filters: Sequence[Body], *, k: int, num_candidates: int
) -> Body:
    return knn_body("text_vector", vector, filters, k=k, num_candidates=num_candidates)


def clip_knn_body(
    vector: Sequence[float], filters: Sequence[Body], *, k: int, num_candidates: int
) -> Body:
    return knn_body("clip_vector", vector, filters, k=k, num_candidates=num_candidates)


def with_sources(body: Body) -> Body:
    """``body`` asking for its hits' sources (``SOURCE_FIELDS``, never the vectors) too."""
    return {**body, "_source": {"includes": list(SOURCE_FIELDS)}}


SOURCE_FIELDS = (
    "chunk_id",
    "doc_id",
    "modality",
    "uri",
    "title",
    "source",
    "page",
    "bbox",
    "section",
    "text",
    "context",
    "ocr_text",
    "acl",
)
"""What a hit needs from a chunk's source (never the vectors)."""
