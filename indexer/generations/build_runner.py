"""Run a planned build: copy the live generation into the new one (same chunking group:
other models), or have the worker fill it from the sources through the change log (its own
chunking group: a chunker change; a ``ChangePublisher``, as ``indexer`` does not import
``stream``)."""

from __future__ import annotations

import asyncio

from indexer.generations.builder import GenerationBuilder, ProgressCallback
from indexer.generations.copying import ChunkCopier
from indexer.generations.encoders import EncoderCache
from indexer.generations.meta import BuildProgress
from indexer.generations.planning import group_documents
from indexer.generations.rechunk import ChangePublisher, RechunkBuilder, RechunkOptions
from indexer.generations.registry import GenerationError, GenerationRegistry
from indexer.generations.stored_images import StoredImageReader
from indexer.settings import IndexerSettings


async def run_build(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    cache: EncoderCache,
    name: str,
    images: StoredImageReader | None,
    *,
    page_size: int = 20,
    on_progress: ProgressCallback | None = None,
    publisher: ChangePublisher | None = None,
    rechunk: RechunkOptions | None = None,
) -> BuildProgress:
    """Copy the live generation into ``name`` or, when ``name`` chunks differently (its
    own chunking group), have the worker fill it from the sources through ``publisher``."""
    generation = await registry.get(name)
    live = await registry.live()
    if group_documents(generation, settings) != group_documents(live, settings):
        if publisher is None:
            raise GenerationError(f"{name} chunks differently: it needs the change log")
        builder = RechunkBuilder(
            registry,
            publisher,
            settings.documents_index,
            rechunk or RechunkOptions(),
            on_progress=on_progress,
        )
        progress, _ = await builder.build(name)
        return progress
    encoders = await asyncio.to_thread(cache.encoders, generation.meta.config)
    copier = ChunkCopier(
        registry.client, encoders, images, max_image_pixels=settings.max_image_pixels
    )
    progress = generation.meta.build
    copier.counts.text_reused = progress.text_vectors_reused
    copier.counts.text_embedded = progress.text_vectors_embedded
    copier.counts.clip_reused = progress.clip_vectors_reused
    copier.counts.clip_embedded = progress.clip_vectors_embedded
    copier.counts.images_unreadable = progress.images_unreadable
    builder_ = GenerationBuilder(
        registry,
        copier,
        group_documents(live, settings),
        page_size=page_size,
        on_progress=on_progress,
    )
    return await builder_.build(name)
