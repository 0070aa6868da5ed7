"""Plan a build behind ``mmrag generations build``: the live generation, the new
configuration (encoders loaded, chunker recorded), what can be reused; then the generation
to fill, resumed or created (in the live one's chunking group, or its own for a chunker
change)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from indexer.chunks import ChunkingOptions
from indexer.encoders.base import Encoders
from indexer.encoders.settings import EncoderSettings
from indexer.generations.elastic_io import pages
from indexer.generations.encoders import EncoderCache, configured_runtime, model_of
from indexer.generations.meta import GenerationConfig, GenerationMeta
from indexer.generations.registry import Generation, GenerationError, GenerationRegistry
from indexer.generations.reuse import ReusePlan, plan_reuse
from indexer.settings import IndexerSettings
from indexer.store.mappings import LIVE_MANIFESTS
from indexer.store.records import manifest_from_source

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildRequest:
    text_model: str | None = None
    """A model id or directory; a runtime suffix (``@onnx-int8``, ``@bf16``) runs it so."""
    clip_model: str | None = None
    """As ``text_model``; ``""``: no CLIP model in the new generation."""
    runtime: str | None = None
    """One runtime for both encoders (``torch``, ``onnx``, ``onnx-int8``)."""
    chunk_max_tokens: int | None = None
    """A new chunk size (tokens): a chunker change, built from the sources."""
    chunk_overlap_tokens: int | None = None


@dataclass(frozen=True)
class BuildPlan:
    live: Generation
    target: GenerationConfig
    reuse: ReusePlan
    """``reuse.rechunk``: filled from the sources by the worker (``rechunk``)."""


def chunking_version(encoders: Encoders, max_tokens: int, overlap_tokens: int) -> str:
    return ChunkingOptions(max_tokens, overlap_tokens, tokenizer=encoders.text).version


def group_documents(generation: Generation, settings: IndexerSettings) -> str:
    """The documents index of ``generation``'s chunking group."""
    return generation.meta.documents_index_or(settings.documents_index)


async def live_chunking(
    registry: GenerationRegistry, documents_index: str, live: Generation
) -> str | None:
    """The live generation's chunk pipeline version: its ``_meta``, else a manifest's."""
    if live.meta.config.chunking:
        return live.meta.config.chunking
    async for hits in pages(
        registry.client,
        documents_index,
        "doc_id",
        size=1,
        source=["manifest"],
        query=LIVE_MANIFESTS,
    ):
        return manifest_from_source(hits[0]["_source"]).pipeline_version
    return None


async def plan_build(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    base: EncoderSettings,
    cache: EncoderCache,
    request: BuildRequest,
) -> BuildPlan:
    """The live generation, the new configuration (its encoders loaded into ``cache``,
    its chunker recorded) and what can be copied (nothing when the chunking changes);
    ``GenerationError`` when nothing changes."""
    from indexer.encoders.loading import load_encoders

    live = await registry.live()
    current = live.meta.config
    if request.runtime:  # one runtime for both encoders: load them as the worker would
        clip = model_of(current.clip_model) if current.clip_model else ""
        if request.clip_model is not None:
            clip = model_of(request.clip_model)
        wanted = base.model_copy(
            update={
                "text_model": model_of(request.text_model or current.text_model),
                "clip_model": clip,
                "encoder_runtime": request.runtime,
                "clip_required": bool(clip),
            }
        )
        encoders = await asyncio.to_thread(load_encoders, wanted)
        cache.add(encoders)
        runtime = configured_runtime(wanted)
    else:  # encoder names (``x@onnx-int8``, ``x@bf16``) choose each one's runtime
        clip_name = current.clip_model
        if request.clip_model is not None:
            clip_name = request.clip_model or None
        draft = GenerationConfig(
            text_model=request.text_model or current.text_model,
            text_dimensions=current.text_dimensions,
            clip_model=clip_name,
            runtime=current.runtime,
        )
        encoders = await asyncio.to_thread(cache.encoders, draft)
        runtime = current.runtime
    max_tokens = request.chunk_max_tokens or current.chunk_max_tokens or settings.chunk_max_tokens
    overlap = request.chunk_overlap_tokens
    if overlap is None:
        overlap = current.chunk_overlap_tokens
    if overlap is None:
        overlap = settings.chunk_overlap_tokens
    if not 0 <= overlap < max_tokens:
        raise GenerationError(
            f"the chunk overlap ({overlap}) must be at least 0 and below the chunk size "
            f"({max_tokens})"
        )
    source_chunking = await live_chunking(registry, group_documents(live, settings), live)
    target = GenerationConfig(
        text_model=encoders.text.name,
        text_dimensions=encoders.text.dimensions,
        clip_model=encoders.clip.name if encoders.clip else None,
        clip_dimensions=encoders.clip.dimensions if encoders.clip else None,
        runtime=runtime,
        chunking=chunking_version(encoders, max_tokens, overlap),
        chunk_max_tokens=max_tokens,
        chunk_overlap_tokens=overlap,
    )
    plan = plan_reuse(current.model_copy(update={"chunking": source_chunking}), target)
    same_models = (current.text_model, current.clip_model) == (target.text_model, target.clip_model)
    if same_models and not plan.rechunk:
        raise GenerationError(f"{live.name} already has this configuration ({target.describe()})")
    return BuildPlan(live, target, plan)


async def start_or_resume(
    registry: GenerationRegistry, settings: IndexerSettings, plan: BuildPlan
) -> str:
    """A generation of this configuration that is building (resumed) or ready (nothing
    left to do), else a new one: in the live one's chunking group, or, when the chunking
    changes, with its own documents index."""
    for generation in await registry.list():
        pending = generation.meta.state in ("building", "ready") and not generation.live
        if pending and _same(generation.meta.config, plan.target):
            logger.info("generation_resuming name=%s", generation.name)
            return generation.name
    if plan.reuse.rechunk:
        return await registry.create(
            GenerationMeta(config=plan.target), own_documents=settings.documents_index
        )
    meta = GenerationMeta(config=plan.target, documents_index=plan.live.meta.documents_index)
    return await registry.create(meta)


def _same(a: GenerationConfig, b: GenerationConfig) -> bool:
    return (a.text_model, a.clip_model, a.chunking) == (b.text_model, b.clip_model, b.chunking)
