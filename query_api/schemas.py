"""The query API's wire contract: requests and responses (pydantic, so OpenAPI is exact)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from query_api.generation.base import FallbackReason

MAX_K = 100
MAX_RRF_K = 1000
MAX_WEIGHT = 10.0

Modality = Literal["text", "image"]
IMAGE_UPLOADED = "image_uploaded"
"""Validation context key: the multipart form carries the query image as a file part."""


def _both_modalities() -> list[Modality]:
    return ["text", "image"]


class Mode(StrEnum):
    HYBRID = "hybrid"
    """BM25 + text-vector kNN + CLIP kNN, fused with Reciprocal Rank Fusion."""
    VECTOR = "vector"
    """Text-vector kNN + CLIP kNN, fused."""
    LEXICAL = "lexical"
    """BM25 only."""


class Profile(StrEnum):
    """How a mode is carried out. ``plain`` is the fixed baseline that evaluations compare
    against; it ignores every retrieval setting."""

    DEFAULT = "default"
    """The configured retrieval: field boosts, fusion weights and RRF constant from the
    settings, CLIP kNN where a model is loaded, grouping and reranking when asked for."""
    PLAIN = "plain"
    """lexical: BM25 ``match`` on the chunk ``text`` only; vector: text kNN only (no CLIP);
    hybrid: RRF (k = 60, equal weights) of exactly those two. Text queries only; no boosts,
    no extra fields, no grouping, no reranking, no per-request fusion overrides."""


class GroupBy(StrEnum):
    DOCUMENT = "document"
    """One hit per document: its best chunk, with how many of its chunks matched. Text and
    image chunks group apart (a document's best passage and its best image)."""


class Retriever(StrEnum):
    BM25 = "bm25"
    TEXT_KNN = "text_knn"
    CLIP_KNN = "clip_knn"
    """Text query → CLIP text tower; image query → CLIP image tower."""
    IMAGE_TEXT_KNN = "image_text_knn"
    """Image query → CLIP image tower against text chunks' CLIP vectors (image→text)."""


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: list[str] | None = None
    doc_id: list[str] | None = None
    uri_prefix: str | None = None
    tags: list[str] | None = None
    """A chunk matches if it has any of these tags."""
    content_type: list[str] | None = None
    indexed_after: datetime | None = None
    indexed_before: datetime | None = None


class SearchRequest(BaseModel):
    """JSON form of ``POST /search``. The multipart form takes the same fields, with the
    image as a file part named ``image``."""

    model_config = ConfigDict(extra="forbid")

    query: str | None = Field(default=None, max_length=2000)
    image_base64: str | None = Field(default=None, description="A query image, base64.")
    modalities: list[Modality] = Field(default_factory=_both_modalities)
    k: int = Field(default=10, ge=1, le=MAX_K)
    mode: Mode = Mode.HYBRID
    profile: Profile = Profile.DEFAULT
    group_by: GroupBy | None = None
    """``document``: k counts documents, each hit is a document's best chunk."""
    rrf_k: int | None = Field(default=None, ge=1, le=MAX_RRF_K)
    """Overrides ``MMRAG_API_RRF_K`` for this request (for tuning with ``mmrag eval``)."""
    weights: dict[Retriever, float] | None = None
    """Overrides some of ``MMRAG_API_WEIGHTS`` for this request: each 0 (off) to 10."""
    filters: SearchFilters = Field(default_factory=SearchFilters)

    @field_validator("weights")
    @classmethod
    def _weights_in_range(
        cls, weights: dict[Retriever, float] | None
    ) -> dict[Retriever, float] | None:
        for retriever, weight in (weights or {}).items():
            if not 0 <= weight <= MAX_WEIGHT:  # also refuses NaN
                raise ValueError(f"weight of {retriever} must be 0 to {MAX_WEIGHT}, not {weight}")
        return weights

    @model_validator(mode="after")
    def _something_to_search(self, info: ValidationInfo) -> SearchRequest:
        uploaded = bool(info.context and info.context.get(IMAGE_UPLOADED))
        if not (self.query and self.query.strip()) and not self.image_base64 and not uploaded:
            raise ValueError("give a text query, an image, or both")
        if not self.modalities:
            raise ValueError("modalities must name text, image or both")
        if self.profile is Profile.PLAIN and self.group_by is not None:
            raise ValueError("profile plain is the ungrouped baseline: drop group_by")
        if self.profile is Profile.PLAIN and (self.rrf_k is not None or self.weights):
            raise ValueError("profile plain has a fixed fusion: drop rrf_k and weights")
        return self


class Hit(BaseModel):
    chunk_id: str
    doc_id: str
    modality: Literal["text", "image"]
    uri: str
    title: str | None = None
    source: str
    page: int | None = None
    bbox: list[float] | None = None
    section: str | None = None
    snippet: str | None = None
    """Text chunks: the text (trimmed). Image chunks: the describing text, if any."""
    image_url: str | None = None
    """Image chunks: ``/images/{chunk_id}`` (a thumbnail)."""
    score: float
    """The fused RRF score (higher is better)."""
    rerank_score: float | None = None
    """The reranker's score, when one is configured and read this hit; hits are then in
    the reranker's order rather than ``score``'s."""
    retrievers: dict[Retriever, int]
    """Which retrievers found it, and at what rank (1-based)."""
    matched_chunks: int | None = None
    """With ``group_by: document``: how many of the document's chunks were among the
    candidates (this hit is the best of them)."""
    next_chunk_ids: list[str] | None = None
    """With ``group_by: document``: the document's next best matching chunks, best first."""


class SearchResponse(BaseModel):
    hits: list[Hit]
    mode: Mode
    profile: Profile = Profile.DEFAULT
    group_by: GroupBy | None = None
    reranker: str | None = None
    """The reranking model that ordered the top hits, if any."""
    took_ms: float


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=6, ge=1, le=20)
    mode: Mode = Mode.HYBRID
    filters: SearchFilters = Field(default_factory=SearchFilters)
    stream: bool = False
    """``true``: Server-Sent Events (``token``, ``citations``, ``done``); else one JSON."""


class Citation(BaseModel):
    number: int
    """The ``[n]`` used in the answer."""
    chunk_id: str
    doc_id: str
    uri: str
    title: str | None = None
    page: int | None = None
    modality: Literal["text", "image"]
    image_url: str | None = None


class AskResponse(BaseModel):
    answer: str
    citations: list[Citation]
    """Only the sources the answer cites; every one is a retrieved chunk."""
    generator: str
    """The LLM that wrote it, or ``extractive`` when the answer is the best passages."""
    fallback_reason: FallbackReason | None = None
    """Why the answer is extractive (``no_llm``, ``no_passages``, ``llm_failed``,
    ``timeout``, ``repetition``, ``no_citations``, ``too_short``); ``null`` when the
    LLM's answer is shown, which then cites at least one retrieved source."""
    took_ms: float


class ChunkSummary(BaseModel):
    chunk_id: str
    modality: str
    order: int
    page: int | None = None
    section: str | None = None


class DocumentResponse(BaseModel):
    doc_id: str
    revision: int
    status: Literal["indexed", "deleted"]
    uri: str | None
    source: str | None
    title: str | None
    content_sha256: str | None
    indexed_at: datetime
    chunks: list[ChunkSummary]


class Backlog(BaseModel):
    live: int
    """Live changes (saved files, CMS webhooks) not yet searchable."""
    backfill: int
    """Bulk work (scans, resends, replays) not yet searchable."""


class IndexBuild(BaseModel):
    """A new index generation being built (``mmrag generations build``) or ready to
    promote."""

    generation: str
    state: str
    documents_done: int
    documents_total: int
    eta_s: float | None
    vectors_reused: float | None
    """Share of the vectors copied rather than embedded again; ``None`` for a chunker
    change, which the worker re-indexes from the sources."""


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    elasticsearch: str
    kafka_lag: int | None
    """Records the indexer's consumer group has not committed yet (all partitions)."""
    backlog: Backlog | None = None
    """The same, per lane: live changes and bulk backfill (``None``: Kafka not answering)."""
    text_model: str | None
    clip_model: str | None
    llm: str | None
    """The LLM's name once loaded (it loads on the first question); ``None`` before, or
    when answers are extractive."""
    index_build: IndexBuild | None = None
    """The newest generation that is not live and not retired, if any."""
    generation: str | None = None
    """The generation the chunks alias serves (``None``: nothing indexed, or unreadable)."""
    documents_index: str | None = None
    """Where the served generation's manifests are: the shared documents index, or its own
    when it chunks differently (``None``: unreadable)."""
    documents_searchable: int | None = None
    """Documents the served generation holds (manifests not deleted); ``None``: unreadable."""
    problems: list[str] = Field(default_factory=list)
    """Why the status is ``degraded`` besides Elasticsearch: models that differ from the
    index's, an LLM that failed to load."""
