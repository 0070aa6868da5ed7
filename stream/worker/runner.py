"""``mmrag worker``: wire settings, encoders, store and pipeline, then run Faust."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from indexer.dead_letters import DeadLetter
from indexer.encoders.base import Encoders
from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.generations.encoders import EncoderCache
from indexer.generations.fanout import dual_writing_store, live_generation_encoders
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.source_retry import SourceRetry
from indexer.sources import ContentReader
from stream.lanes import Lane
from stream.settings import StreamSettings
from stream.topics import ensure_topics
from stream.worker.app import create_worker_app
from stream.worker.document_locks import DocumentLocks
from stream.worker.metrics import WorkerMetrics
from stream.worker.priority import lane_encoders
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
        # The live generation's models (the configured ones make generation 1); every
        # generation gets each change with its own models' vectors (a new one being
        # built, the one kept for a rollback): docs/architecture.md, "Index generations".
        cache = EncoderCache(encoder_settings, seed=encoders)
        models = await live_generation_encoders(indexer_settings, cache, encoders)
        live_encoders, backfill_encoders = lane_encoders(models, worker_settings.encode_sub_batch)
        source_retry = SourceRetry(
            attempts=worker_settings.source_attempts,
            initial_delay_s=worker_settings.source_retry_delay_s,
        )

        def pipeline(settings: IndexerSettings, lane_encoders: Encoders) -> IndexingPipeline:
            return IndexingPipeline(
                settings,
                dual_writing_store(settings, cache),
                lane_encoders,
                ContentReader(settings),
                source_retry=source_retry,
                image_max_side=encoder_settings.image_max_side,
            )

        # Each lane has its own store only for its refresh policy: a live change is
        # searchable as soon as it is written, a bulk load waits for the refresh interval.
        live_settings = indexer_settings.model_copy(
            update={"refresh": worker_settings.live_refresh}
        )
        live = pipeline(live_settings, live_encoders)
        backfill = pipeline(indexer_settings, backfill_encoders)
        generation = await live.setup()
        await backfill.setup()
        logger.info(
            "worker ready generation=%s text_model=%s clip_model=%s",
            generation,
            models.text.name,
            models.clip.name if models.clip else None,
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
