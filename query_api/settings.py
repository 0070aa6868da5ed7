"""Settings of the query API (env prefix ``MMRAG_API_``).

Where the indexes live (``MMRAG_ELASTICSEARCH_URL``, ``MMRAG_CHUNKS_ALIAS`` …) and which
models embed queries (``MMRAG_TEXT_MODEL``, ``MMRAG_CLIP_MODEL``) are the indexer's own
settings (``IndexerSettings``, ``EncoderSettings``), so API and worker read the same
variables; so are the Kafka names behind the indexer's lag in ``/health``
(``indexer.change_log.ChangeLogSettings``: the read side never imports ``stream``).
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from query_api.queries import (
    CONTEXT_FIELD,
    OCR_FIELD,
    SECTION_FIELD,
    TEXT_FIELD,
    TITLE_FIELD,
    LexicalFields,
    MatchType,
)
from query_api.schemas import Retriever

MIB = 1024 * 1024
MAX_RANK_WINDOW = 1000


class ApiKey(BaseModel):
    """Who holds a key, and the principals (users, groups) their searches may see."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    principals: tuple[str, ...] = ()


class KnnCandidates(BaseModel):
    """``num_candidates`` of a kNN retriever: ``max(minimum, factor × k)`` (HNSW's beam:
    larger is more accurate and slower)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: float = Field(default=5.0, ge=1.0)
    minimum: int = Field(default=50, ge=1)


def _default_weights() -> dict[Retriever, float]:
    """Text kNN counts double: on the PostgreSQL manual's tuning questions its contextual
    vectors beat BM25 alone by 0.11 MRR@10, and weight 2 gave the best fused MRR@10."""
    return {**dict.fromkeys(Retriever, 1.0), Retriever.TEXT_KNN: 2.0}


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MMRAG_API_", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    api_keys: dict[str, ApiKey] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("MMRAG_API_KEYS", "api_keys"),
    )
    """JSON in ``MMRAG_API_KEYS``: ``{"<key>": {"name": "alice", "principals": ["team-a"]}}``;
    callers send the key in the ``X-API-Key`` header."""
    require_api_key: bool = False
    """``false``: callers without a key are anonymous and see public documents only."""

    weights: dict[Retriever, float] = Field(default_factory=_default_weights)
    """RRF weight per retriever (missing = 1; 0 turns a retriever off)."""
    rrf_k: int = Field(default=60, ge=1)
    """RRF's rank constant: larger flattens the difference between top and lower ranks."""
    rank_window_size: int = Field(default=20, ge=1, le=MAX_RANK_WINDOW)
    """Each retriever returns ``max(k, rank_window_size)`` candidates for fusion."""
    group_window_factor: int = Field(default=5, ge=1, le=100)
    """With ``group_by``, each retriever returns ``max(rank_window_size, factor × k)``
    candidates (at most 1,000), so that k distinct documents can be filled even when
    several chunks of one document rank high."""
    document_rrf_k: int = Field(default=10, ge=1)
    """With ``group_by``, RRF's constant of the document-level fusion (see
    ``query_api.grouping.order_by_document``); chosen on the tuning questions."""
    document_chunks: int = Field(default=3, ge=1, le=20)
    """With ``group_by``, how many of a document's chunks each retriever's ranking counts
    for the document."""
    group_next_chunks: int = Field(default=3, ge=0, le=20)
    """With ``group_by``, how many more chunk ids of each document a hit lists."""
    knn_candidates: dict[Retriever, KnnCandidates] = Field(default_factory=dict)
    """Per kNN retriever (missing = factor 5, minimum 50)."""

    text_boost: float = Field(default=1.0, ge=0, le=100)
    """BM25 boost of the chunk's own text (``MMRAG_API_TEXT_BOOST``); 0 leaves a field out."""
    title_boost: float = Field(default=0.0, ge=0, le=100)
    """…of the document's title (every chunk of a document carries it). Off by default:
    on the PostgreSQL manual's tuning questions a boost of 1 or 2 cost 0.10–0.33 recall@1
    in lexical mode (the standard analyzer has no stop words, so "how do I" matches short
    titles); the title and heading path already reach the text vectors (contextual chunks)."""
    section_boost: float = Field(default=0.0, ge=0, le=100)
    """…of the chunk's heading path (``Chapter > Section``); off by default, as the title."""
    ocr_boost: float = Field(default=1.0, ge=0, le=100)
    """…of the text read in an image."""
    context_boost: float = Field(default=0.3, ge=0, le=100)
    """…of an image's surrounding words or its PDF page's text."""
    lexical_match_type: MatchType = "most_fields"
    """How the fields' BM25 scores combine: ``most_fields`` (sum), ``best_fields`` (best
    plus ``lexical_tie_breaker`` × the rest) or ``cross_fields`` (one blended field)."""
    lexical_tie_breaker: float = Field(default=0.3, ge=0, le=1)

    reranker_model: str | None = None
    """A cross-encoder (sentence-transformers id or directory) that rescores the top fused
    candidates of default-profile text searches; unset (the default) = no reranking."""
    rerank_top_n: int = Field(default=30, ge=1, le=MAX_RANK_WINDOW)
    """How many fused candidates the reranker reads (more: better recall, slower)."""
    reranker_batch_size: int = Field(default=16, ge=1)
    reranker_max_length: int = Field(default=512, ge=16)
    """Tokens of query plus passage the cross-encoder reads."""
    reranker_device: str = "auto"

    embedding_threads: int = Field(default=1, ge=0)
    """torch intra-op threads for query embedding (0 keeps ``MMRAG_THREADS``). One thread:
    a query is a batch of one, and on a busy machine two OpenMP threads waiting on each
    other made /search 20× slower (measured: p50 460 ms vs 21 ms with 2 cores shared)."""

    max_upload_bytes: int = Field(default=10 * MIB, gt=0)
    query_image_max_side: int = Field(default=1024, ge=16)
    snippet_length: int = Field(default=300, ge=20)
    thumbnail_max_side: int = Field(default=256, ge=16, le=2048)
    thumbnail_cache_size: int = Field(default=256, ge=0)
    thumbnail_failure_ttl_s: float = Field(default=30.0, ge=0)
    """An image that could not be read is answered (404) from memory this long."""
    anonymous_image_rate: float = Field(default=5.0, ge=0)
    """Thumbnails per second one client address may fetch without an API key, on average
    (a token bucket; 0 = unlimited); over it: 429 with ``Retry-After``."""
    anonymous_image_burst: int = Field(default=50, ge=1)
    """…and at once (a result page's worth of thumbnails)."""
    max_body_bytes: int = Field(default=1 * MIB, gt=0)
    """Largest JSON body (``/ask``, JSON ``/search``); a multipart ``/search`` may carry
    ``max_upload_bytes`` + this. Counted while the body streams in: over it is a 413."""
    protect_ops: bool | None = None
    """``/metrics`` and ``/health`` need an API key too; unset: when ``require_api_key``."""
    elasticsearch_timeout_s: float = Field(default=10.0, gt=0)

    lag_timeout_s: float = Field(default=2.0, gt=0)
    lag_cache_s: float = Field(default=5.0, ge=0)

    cors_origins: list[str] = Field(default_factory=list)
    """Origins allowed cross-origin (JSON list); empty = CORS off (the page is same-origin)."""

    @field_validator("weights")
    @classmethod
    def _weights_not_negative(cls, weights: dict[Retriever, float]) -> dict[Retriever, float]:
        negative = [str(name) for name, weight in weights.items() if weight < 0]
        if negative:
            raise ValueError(f"weights must be ≥ 0 (negative: {', '.join(negative)})")
        return {**_default_weights(), **weights}

    @field_validator("api_keys")
    @classmethod
    def _keys_not_blank(cls, keys: dict[str, ApiKey]) -> dict[str, ApiKey]:
        if any(not key.strip() for key in keys):
            raise ValueError("an API key must not be blank")
        return keys

    @model_validator(mode="after")
    def _some_lexical_field(self) -> ApiSettings:
        self.lexical_fields()
        return self

    def lexical_fields(self) -> LexicalFields:
        """BM25's fields and boosts (the defaults are starting points: tune them on your
        own labelled questions with ``mmrag eval``)."""
        return LexicalFields(
            boosts={
                TEXT_FIELD: self.text_boost,
                OCR_FIELD: self.ocr_boost,
                TITLE_FIELD: self.title_boost,
                SECTION_FIELD: self.section_boost,
                CONTEXT_FIELD: self.context_boost,
            },
            match_type=self.lexical_match_type,
            tie_breaker=self.lexical_tie_breaker,
        )

    def num_candidates(self, retriever: Retriever, k: int) -> int:
        """kNN ``num_candidates`` for ``k`` results (Elasticsearch caps it at 10,000)."""
        tuning = self.knn_candidates.get(retriever, KnnCandidates())
        return min(10_000, max(k, tuning.minimum, int(tuning.factor * k)))
