"""Everything the endpoints use, built once in the app's lifespan and closed with it."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elasticsearch import AsyncElasticsearch

from indexer.change_log import ChangeLogSettings
from indexer.encoders.base import Encoders
from indexer.extract import ExtractionLimits
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from query_api.answering import LazyGeneration, LLMFactory
from query_api.errors import QueryError
from query_api.es_client import search_client
from query_api.health import KafkaLagProbe
from query_api.metrics import ApiMetrics
from query_api.reranking import load_reranker
from query_api.retrieval import ChunkRetriever
from query_api.settings import ApiSettings
from query_api.thumbnails import ThumbnailService

if TYPE_CHECKING:
    from query_api.generation import GenerationSettings

logger = logging.getLogger(__name__)


@dataclass
class QueryServices:
    settings: ApiSettings
    store: IndexerSettings
    client: AsyncElasticsearch
    encoders: Encoders
    retriever: ChunkRetriever
    thumbnails: ThumbnailService
    reader: ContentReader
    lag: KafkaLagProbe
    generation: LazyGeneration
    metrics: ApiMetrics
    executor: ThreadPoolExecutor

    @classmethod
    def build(
        cls,
        *,
        settings: ApiSettings,
        store: IndexerSettings,
        change_log: ChangeLogSettings,
        generation: GenerationSettings,
        encoders: Encoders,
        llm_factory: LLMFactory,
        metrics: ApiMetrics,
    ) -> QueryServices:
        client = search_client(store.elasticsearch_url, timeout_s=settings.elasticsearch_timeout_s)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmrag-query-embed")
        reader = ContentReader(store)
        limits = ExtractionLimits(
            max_bytes=store.max_document_bytes, max_image_pixels=store.max_image_pixels
        )
        return cls(
            settings=settings,
            store=store,
            client=client,
            encoders=encoders,
            retriever=ChunkRetriever(
                client,
                settings,
                store.chunks_alias,
                encoders,
                executor,
                reranker=load_reranker(settings),  # None unless MMRAG_API_RERANKER_MODEL
            ),
            thumbnails=ThumbnailService(
                client,
                store,
                reader,
                limits,
                max_side=settings.thumbnail_max_side,
                cache_size=settings.thumbnail_cache_size,
                failure_ttl_s=settings.thumbnail_failure_ttl_s,
            ),
            reader=reader,
            lag=KafkaLagProbe(
                change_log,
                timeout_s=settings.lag_timeout_s,
                cache_s=settings.lag_cache_s,
            ),
            generation=LazyGeneration(generation, llm_factory),
            metrics=metrics,
            executor=executor,
        )

    async def close(self) -> None:
        await self.generation.close()
        await self.retriever.close()
        await self.client.close()
        await self.reader.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def problems(self) -> list[str]:
        """Why the API is degraded, beyond Elasticsearch's own status: models that do not
        match the index, an LLM that failed to load."""
        found = []
        try:
            space = await self.retriever.spaces.read()
        except QueryError as error:
            space = None
            found.append(error.reason)
        if space is not None:
            encoders = await self.retriever.encoders_for(space)  # the generation's own
            found.extend(space.model_mismatches(encoders))
        if self.generation.failure:
            found.append(f"LLM failed to load: {self.generation.failure}")
        return found
