"""``ChunkRetriever``: a query in, fused hits out.

    plan (which retrievers) ─ embed the query (worker thread) ─ run the retrievers in one
    ``_msearch`` (chunk ids and their doc ids) ─ fuse with RRF ─ rerank the top N (when a
    reranker is configured) ─ group by document (when asked) ─ fetch the top-k sources (no
    vectors) ─ RetrievedChunk list

Embedding is CPU-bound: it runs off the event loop, micro-batched across concurrent
queries (``query_api.embedding``). The service is named ``ChunkRetriever`` because
``Retriever`` is the enum of retriever kinds in the wire contract.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from elasticsearch import ApiError, AsyncElasticsearch

from indexer.encoders.base import Encoders
from indexer.encoders.settings import EncoderSettings
from indexer.generations.encoders import EncoderCache
from indexer.store.errors import ELASTICSEARCH_ERRORS, failure_reason, is_missing
from query_api.access import Caller, may_read
from query_api.errors import InvalidQuery, ServiceUnavailable
from query_api.fusion import FusedHit, fuse_rankings
from query_api.generation_encoders import GenerationEmbedders, QueryEmbedders
from query_api.grouping import group_by_document, order_by_document, ungrouped
from query_api.hits import RetrievedChunk, chunk_from_source
from query_api.index_space import IndexSpace, IndexSpaceReader
from query_api.multi_search import SearchFailed, hit_list, msearch_lines, search_responses
from query_api.planning import (
    NEEDS_CLIP,
    FusionPlan,
    PlannedRetriever,
    plan_fusion,
    plan_retrievers,
)
from query_api.queries import (
    GROUP_FIELDS,
    SOURCE_FIELDS,
    bm25_body,
    clip_knn_body,
    filter_clauses,
    plain_bm25_body,
    text_knn_body,
    with_sources,
)
from query_api.reranking import Reranker, passage_for_reranking, rerank_candidates
from query_api.schemas import GroupBy, Mode, Profile, Retriever, SearchFilters
from query_api.settings import ApiSettings

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

GENERATION_TTL_S = 5.0
"""How long the alias's generation is cached: a switch is followed within this."""
INLINE_SOURCES_WINDOW = 50
"""Up to this many candidates per retriever, the searches return the hits' sources (no
``mget`` round trip after fusion); above it (``group_by`` windows reach 1,000), reading every
candidate's source costs more than the ``mget`` of the top k."""


@dataclass(frozen=True)
class SearchQuery:
    text: str | None
    image: Image.Image | None
    k: int = 10
    mode: Mode = Mode.HYBRID
    modalities: tuple[str, ...] = ("text", "image")
    filters: SearchFilters = field(default_factory=SearchFilters)
    profile: Profile = Profile.DEFAULT
    group_by: GroupBy | None = None
    rrf_k: int | None = None
    """Overrides the settings' RRF constant for this query."""
    weights: Mapping[Retriever, float] | None = None
    """Overrides some of the settings' retriever weights for this query."""


@dataclass(frozen=True)
class SearchOutcome:
    chunks: list[RetrievedChunk]
    retrievers: tuple[Retriever, ...]
    timings_ms: dict[str, float]
    """``embed``, ``retrieve`` (the retrievers' one ``_msearch``), ``rerank``, ``fetch``."""
    reranker: str | None = None
    """The reranking model that ordered the top candidates, if one did."""


class ChunkRetriever:
    def __init__(
        self,
        client: AsyncElasticsearch,
        settings: ApiSettings,
        chunks_alias: str,
        encoders: Encoders,
        executor: Executor,
        reranker: Reranker | None = None,
        embedders: GenerationEmbedders | None = None,
    ) -> None:
        """``embedders``: query encoders per generation (default: the configured
        ``encoders``, other generations' loaded with default encoder settings)."""
        self._client = client
        self._executor = executor
        self._reranker = reranker
        self._settings = settings
        self._alias = chunks_alias
        self._encoders = encoders
        self._embedders = embedders or GenerationEmbedders(
            encoders,
            executor,
            EncoderCache(EncoderSettings.model_construct(), seed=encoders),
            client=client,
            alias=chunks_alias,
        )
        # Short: a promoted generation is followed within seconds, without a restart.
        self._spaces = IndexSpaceReader(client, chunks_alias, ttl_s=GENERATION_TTL_S)
        self._lexical = settings.lexical_fields()
        self._warned: set[str] = set()

    @property
    def spaces(self) -> IndexSpaceReader:
        return self._spaces

    async def encoders_for(self, space: IndexSpace) -> Encoders:
        """The encoders that embed queries for ``space``'s generation."""
        return (await self._embedders.for_space(space)).encoders

    async def search(self, query: SearchQuery, caller: Caller) -> SearchOutcome:
        text = query.text.strip() if query.text else None
        clip = self._encoders.clip
        # Validate against what this API can do before asking Elasticsearch anything.
        self._plan(query, text, clip_available=clip is not None)
        space = await self._spaces.read()
        if space is None:  # nothing indexed yet
            return SearchOutcome([], (), {})
        # Every request reads one generation, with that generation's encoders (the alias
        # may move meanwhile: the next read of the space follows it).
        embedders = await self._embedders.for_space(space)
        encoders, index = embedders.encoders, space.generation
        clip = encoders.clip
        if space.generation not in self._warned:
            self._warned.add(space.generation)
            for problem in space.model_mismatches(encoders):
                logger.warning("model_mismatch generation=%s %s", space.generation, problem)
        clip_indexed = clip is not None and space.clip_dimensions == clip.dimensions
        plan = self._plan(query, text, clip_available=clip_indexed)
        if any(p.retriever is Retriever.TEXT_KNN for p in plan):
            space.check_text(encoders.text)

        timings: dict[str, float] = {}
        started = time.perf_counter()
        vectors = await self._embed(text, query.image, plan, embedders)
        timings["embed"] = _ms_since(started)

        fusion = self._fusion(query)
        started = time.perf_counter()
        sources: dict[str, dict[str, Any]] = {}
        rankings = await self._rank(
            plan, text, vectors, query, caller, fusion.window, index, sources
        )
        timings["retrieve"] = _ms_since(started)
        group_keys = {chunk_id: key for ranking in rankings for chunk_id, key in ranking}
        fused = fuse_rankings(
            {
                p.retriever: [chunk_id for chunk_id, _ in ranking]
                for p, ranking in zip(plan, rankings, strict=True)
            },
            k_constant=fusion.k_constant,
            weights=fusion.weights,
        )
        reranker = self._reranker if query.profile is Profile.DEFAULT and text else None
        if reranker is not None and text:
            started = time.perf_counter()
            fused = await self._rerank(reranker, text, fused, sources, index)
            timings["rerank"] = _ms_since(started)
        if query.group_by is GroupBy.DOCUMENT:
            if reranker is None and query.profile is Profile.DEFAULT:
                fused = order_by_document(
                    fused,
                    {
                        p.retriever: [chunk_id for chunk_id, _ in ranking]
                        for p, ranking in zip(plan, rankings, strict=True)
                    },
                    group_keys,
                    k_constant=self._settings.document_rrf_k,
                    weights=fusion.weights,
                    chunks_per_document=self._settings.document_chunks,
                )
            groups = group_by_document(
                fused, group_keys, k=query.k, next_chunks=self._settings.group_next_chunks
            )
        else:
            groups = ungrouped(fused, k=query.k)

        started = time.perf_counter()
        missing = [group.best.chunk_id for group in groups if group.best.chunk_id not in sources]
        sources.update(await self._fetch(missing, index))
        timings["fetch"] = _ms_since(started)
        chunks = [
            chunk_from_source(
                sources[group.best.chunk_id],
                group.best,
                matched_chunks=group.matched_chunks,
                next_chunk_ids=group.next_chunk_ids,
            )
            for group in groups
            if group.best.chunk_id in sources
            and may_read(sources[group.best.chunk_id].get("acl"), caller)
        ]
        return SearchOutcome(
            chunks,
            tuple(p.retriever for p in plan),
            timings,
            reranker.name if reranker is not None else None,
        )

    async def _rerank(
        self,
        reranker: Reranker,
        text: str,
        fused: list[FusedHit],
        sources: dict[str, dict[str, Any]],
        index: str,
    ) -> list[FusedHit]:
        """The top ``rerank_top_n`` candidates in the reranker's order, then the rest; the
        sources read on the way are kept in ``sources``. A candidate gone from the index
        since it was ranked is dropped."""
        top, rest = fused[: self._settings.rerank_top_n], fused[self._settings.rerank_top_n :]
        unread = [hit.chunk_id for hit in top if hit.chunk_id not in sources]
        sources.update(await self._fetch(unread, index))
        readable = [hit for hit in top if hit.chunk_id in sources]
        passages = [passage_for_reranking(sources[hit.chunk_id]) for hit in readable]
        loop = asyncio.get_running_loop()
        scores = await loop.run_in_executor(self._executor, reranker.rerank, text, passages)
        return rerank_candidates(readable, scores) + rest

    def _fusion(self, query: SearchQuery) -> FusionPlan:
        return plan_fusion(
            profile=query.profile,
            k=query.k,
            settings=self._settings,
            grouped=query.group_by is GroupBy.DOCUMENT,
            rrf_k=query.rrf_k,
            weights=query.weights,
        )

    def _plan(
        self, query: SearchQuery, text: str | None, *, clip_available: bool
    ) -> list[PlannedRetriever]:
        return plan_retrievers(
            has_text=bool(text),
            has_image=query.image is not None,
            mode=query.mode,
            modalities=query.modalities,
            clip_available=clip_available,
            weights=self._fusion(query).weights,
            profile=query.profile,
        )

    async def _embed(
        self,
        text: str | None,
        image: Image.Image | None,
        plan: Sequence[PlannedRetriever],
        embedders: QueryEmbedders,
    ) -> dict[Retriever, list[float]]:
        """The query vector each planned kNN retriever needs, computed concurrently."""
        needed = {planned.retriever for planned in plan}
        vectors: dict[Retriever, list[float]] = {}
        jobs: dict[str, Awaitable[list[float]]] = {}
        if Retriever.TEXT_KNN in needed and text:
            jobs["text"] = embedders.text.embed(text)
        clip_needed = needed & {Retriever.CLIP_KNN, Retriever.IMAGE_TEXT_KNN}
        if clip_needed:
            if image is not None and embedders.clip_image is not None:
                jobs["clip"] = embedders.clip_image.embed(image)
            elif text and embedders.clip_text is not None:
                jobs["clip"] = embedders.clip_text.embed(text)
            else:  # planning never asks for CLIP without a model and a query
                raise InvalidQuery(NEEDS_CLIP)
        rows = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
        if "text" in rows:
            vectors[Retriever.TEXT_KNN] = rows["text"]
        for retriever in clip_needed:
            vectors[retriever] = rows["clip"]
        return vectors

    async def close(self) -> None:
        await self._embedders.close()

    async def _rank(
        self,
        plan: Sequence[PlannedRetriever],
        text: str | None,
        vectors: dict[Retriever, list[float]],
        query: SearchQuery,
        caller: Caller,
        window: int,
        index: str,
        sources: dict[str, dict[str, Any]],
    ) -> list[list[tuple[str, tuple[str, ...]]]]:
        """Per planned retriever, ``(chunk_id, group key)`` pairs, best first (the key: doc
        id and modality): every retriever's search in one ``_msearch``. With a small window
        the hits bring their sources (into ``sources``), so no ``mget`` follows."""
        bodies = [self._body(planned, text, vectors, query, caller, window) for planned in plan]
        if window <= INLINE_SOURCES_WINDOW:
            bodies = [with_sources(body) for body in bodies]
        if not bodies:
            return []
        answer = await self._call(self._client.msearch(index=index, searches=msearch_lines(bodies)))
        try:
            responses = search_responses(answer, len(bodies)) if answer is not None else None
        except SearchFailed as failure:
            if not failure.missing:
                logger.error("search_failed status=%s error=%s", failure.status, failure.reason)
                raise ServiceUnavailable(str(failure)) from failure
            self._spaces.forget()
            responses = None
        if responses is None:  # nothing indexed (yet)
            return [[] for _ in bodies]
        rankings = [hit_list(response) for response in responses]
        for hit in (hit for ranking in rankings for hit in ranking):
            if "_source" in hit:
                sources[str(hit["_id"])] = dict(hit["_source"])
        return [[(str(hit["_id"]), _group_key(hit)) for hit in ranking] for ranking in rankings]

    def _body(
        self,
        planned: PlannedRetriever,
        text: str | None,
        vectors: dict[Retriever, list[float]],
        query: SearchQuery,
        caller: Caller,
        window: int,
    ) -> dict[str, Any]:
        clauses = filter_clauses(query.filters, caller.principals, planned.modalities)
        retriever = planned.retriever
        if retriever is Retriever.BM25:
            if text is None:  # planning asks for BM25 only with a text
                raise InvalidQuery("BM25 needs a text query")
            if query.profile is Profile.PLAIN:
                return plain_bm25_body(text, clauses, size=window)
            return bm25_body(text, clauses, size=window, fields=self._lexical)
        candidates = self._settings.num_candidates(retriever, window)
        builder = text_knn_body if retriever is Retriever.TEXT_KNN else clip_knn_body
        return builder(vectors[retriever], clauses, k=window, num_candidates=candidates)

    async def _fetch(self, chunk_ids: Sequence[str], index: str) -> dict[str, dict[str, Any]]:
        if not chunk_ids:
            return {}
        response = await self._call(
            self._client.mget(index=index, ids=list(chunk_ids), source_includes=list(SOURCE_FIELDS))
        )
        if response is None:
            return {}
        return {
            str(item["_id"]): dict(item.get("_source") or {})
            for item in response["docs"]
            if item.get("found")
        }

    async def _call(self, request: Any) -> Any:
        """Await an Elasticsearch request: a missing index is ``None`` (nothing indexed
        yet); an unreachable or failing cluster is a 503 with the reason."""
        try:
            return await request
        except ELASTICSEARCH_ERRORS as error:
            if is_missing(error):
                self._spaces.forget()
                return None
            if isinstance(error, ApiError):
                logger.error("search_failed status=%s error=%s", error.meta.status, error)
            raise ServiceUnavailable(failure_reason(error, "running the search")) from error


def _group_key(hit: dict[str, Any]) -> tuple[str, ...]:
    """The hit's doc id and modality (doc values); a chunk without a doc id is a group of
    its own."""
    found = hit.get("fields", {})
    return tuple(str((found.get(name) or [hit["_id"]])[0]) for name in GROUP_FIELDS)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
