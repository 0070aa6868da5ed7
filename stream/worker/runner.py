"""``mmrag worker``: wire settings, encoders, store and pipeline, then run Faust."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from elasticsearch import AsyncElasticsearch

from indexer.dead_letters import DeadLetter
from indexer.encoders.base import Encoders
from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.generations.alias_view import GenerationsView
from indexer.generations.chunking_groups import ChunkSize
from indexer.generations.encoders import EncoderCache
from indexer.generations.group_indexer import ChunkingGroupIndexer, group_pipelines
from indexer.settings import IndexerSettings
from indexer.source_retry import SourceRetry
from stream.lanes import Lane
from stream.settings import StreamSettings
from stream.topics import ensure_topics
from stream.worker.app import create_worker_app
from stream.worker.document_locks import DocumentLocks
from stream.worker.metrics import WorkerMetrics
from stream.worker.priority import Priority, PriorityGate, gated
from stream.worker.processor import ChangeBatchProcessor
from stream.worker.settings import WorkerSettings

logger = logging.getLogger(__name__)


def run_worker(
    stream_settings: StreamSettings,
    worker_settings: WorkerSettings,
    indexer_settings: IndexerSettings,
    encoder_settings: EncoderSettings,
    *,
    log_level: str = "info",
) -> None:
    """Run the worker over settings built by the caller (``mmrag.bootstrap``)."""
    import faust
    from prometheus_client import start_http_server

    encoders = load_encoders(encoder_settings, with_ocr=True)
    asyncio.run(ensure_topics(stream_settings))

    metrics = WorkerMetrics()
    if worker_settings.metrics_port:
        start_http_server(
            worker_settings.metrics_port,
            addr=worker_settings.metrics_host,
            registry=metrics.registry,
        )

    async def build_processors(
        send_dead_letter: Callable[[DeadLetter], Awaitable[None]], manifests: Any
    ) -> dict[Lane, ChangeBatchProcessor]:
        # One pipeline per chunking group, each group's lead's models (the configured
        # ones make generation 1); the live generation's group is primary, the others
        # (a generation chunking differently, being built or kept for a rollback) get
        # the same changes after it; every generation of a group gets each change with
        # its own models' vectors: docs/architecture.md, "Index generations".
        cache = EncoderCache(encoder_settings, seed=encoders)
        gate = PriorityGate()
        limit = worker_settings.encode_sub_batch
        source_retry = SourceRetry(
            attempts=worker_settings.source_attempts,
            initial_delay_s=worker_settings.source_retry_delay_s,
        )

        def indexer(settings: IndexerSettings, lane: Lane) -> ChunkingGroupIndexer:
            def for_lane(models: Encoders, primary: bool) -> Encoders:
                # A secondary group's work never goes before a live change.
                first = lane == Lane.LIVE and primary
                return gated(models, gate, Priority.LIVE if first else Priority.BACKFILL, limit)

            client = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=60)
            view = GenerationsView(client, settings.chunks_alias)
            return ChunkingGroupIndexer(
                view,
                group_pipelines(
                    settings,
                    cache,
                    encoders,
                    view,
                    client,
                    lane_encoders=for_lane,
                    source_retry=source_retry,
                    image_max_side=encoder_settings.image_max_side,
                ),
                shared_documents_index=settings.documents_index,
                default_chunk_size=ChunkSize(
                    settings.chunk_max_tokens, settings.chunk_overlap_tokens
                ),
                name=lane.value,
                on_close=client.close,
            )

        # Each lane has its own stores only for its refresh policy: a live change is
        # searchable as soon as it is written, a bulk load waits for the refresh interval.
        live_settings = indexer_settings.model_copy(
            update={"refresh": worker_settings.live_refresh}
        )
        live = indexer(live_settings, Lane.LIVE)
        backfill = indexer(indexer_settings, Lane.BACKFILL)
        generation, primary = await live.setup()
        await backfill.setup()
        space = primary.vector_space
        configured = encoders.clip.name if encoders.clip else None
        if (space.text_model, space.clip_model) != (encoders.text.name, configured):
            logger.warning(
                "worker_follows_live_generation text_model=%s clip_model=%s "
                "configured_text_model=%s configured_clip_model=%s: build a generation for "
                "the configured models (mmrag generations build) to use them",
                space.text_model,
                space.clip_model,
                encoders.text.name,
                configured,
            )
        logger.info(
            "worker ready generation=%s chunking=%s text_model=%s clip_model=%s",
            generation,
            primary.pipeline_version,
            space.text_model,
            space.clip_model,
        )
        locks = DocumentLocks()  # one lane at a time per document
        return {
            lane: ChangeBatchProcessor(
                pipeline,
                send_dead_letter,
                metrics,
                manifests,
                max_transient_retries=worker_settings.max_transient_retries,
                locks=locks,
            )
            for lane, pipeline in (
                (Lane.LIVE, live),
                (Lane.BACKFILL, backfill),
            )
        }

    app = create_worker_app(
        stream_settings,
        worker_settings,
        build_processors,
        on_lag=metrics.set_lag,
        on_recovered=metrics.offsets_recovered.inc,
    )
    faust.Worker(app, loglevel=log_level.upper(), quiet=True).execute_from_commandline()
