"""The lifecycle steps behind ``mmrag generations``: plan a build, run it, verify and
promote, roll back. Evaluation is injected (the gate lives with ``mmrag eval``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from indexer.chunks import ChunkingOptions
from indexer.encoders.base import Encoders
from indexer.encoders.settings import EncoderSettings
from indexer.generations.builder import GenerationBuilder, ProgressCallback, verify_and_repair
from indexer.generations.copying import ChunkCopier
from indexer.generations.elastic_io import pages
from indexer.generations.encoders import EncoderCache, configured_runtime, model_of
from indexer.generations.gate import GateDecision, decide_promotion
from indexer.generations.meta import BuildProgress, GenerationConfig, GenerationMeta
from indexer.generations.registry import (
    Generation,
    GenerationError,
    GenerationRegistry,
    rollback_target,
)
from indexer.generations.repair import RepairTotals
from indexer.generations.reuse import ReusePlan, plan_reuse
from indexer.generations.stored_images import StoredImageReader
from indexer.settings import IndexerSettings
from indexer.store.records import manifest_from_source

logger = logging.getLogger(__name__)

Scores = Mapping[str, float]
Evaluate = Callable[[Generation, Encoders], Awaitable[dict[str, float]]]


@dataclass(frozen=True)
class BuildRequest:
    text_model: str | None = None
    """A model id or directory; a runtime suffix (``@onnx-int8``, ``@bf16``) runs it so."""
    clip_model: str | None = None
    """As ``text_model``; ``""``: no CLIP model in the new generation."""
    runtime: str | None = None
    """One runtime for both encoders (``torch``, ``onnx``, ``onnx-int8``)."""
    chunk_max_tokens: int | None = None


def chunking_version(encoders: Encoders, settings: IndexerSettings, max_tokens: int) -> str:
    options = ChunkingOptions(max_tokens, settings.chunk_overlap_tokens, tokenizer=encoders.text)
    return options.version


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
        query={"bool": {"must_not": [{"term": {"deleted": True}}]}},
    ):
        return manifest_from_source(hits[0]["_source"]).pipeline_version
    return None


async def plan_build(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    base: EncoderSettings,
    cache: EncoderCache,
    request: BuildRequest,
) -> tuple[Generation, GenerationConfig, ReusePlan]:
    """The live generation, the new configuration (its encoders loaded into ``cache``)
    and what can be copied; raises ``ChunkingChanged`` for a chunker change and
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
    max_tokens = request.chunk_max_tokens or settings.chunk_max_tokens
    source_chunking = await live_chunking(registry, settings.documents_index, live)
    target = GenerationConfig(
        text_model=encoders.text.name,
        text_dimensions=encoders.text.dimensions,
        clip_model=encoders.clip.name if encoders.clip else None,
        clip_dimensions=encoders.clip.dimensions if encoders.clip else None,
        runtime=runtime,
        chunking=chunking_version(encoders, settings, max_tokens),
    )
    plan = plan_reuse(current.model_copy(update={"chunking": source_chunking}), target)
    if (current.text_model, current.clip_model) == (target.text_model, target.clip_model):
        raise GenerationError(f"{live.name} already has this configuration ({target.describe()})")
    return live, target, plan


async def start_or_resume(registry: GenerationRegistry, target: GenerationConfig) -> str:
    """A generation of this configuration that is building (resumed) or ready (nothing
    left to do), else a new one."""
    for generation in await registry.list():
        pending = generation.meta.state in ("building", "ready") and not generation.live
        if pending and _same(generation.meta.config, target):
            logger.info("generation_resuming name=%s", generation.name)
            return generation.name
    return await registry.create(GenerationMeta(config=target))


def _same(a: GenerationConfig, b: GenerationConfig) -> bool:
    return (a.text_model, a.clip_model) == (b.text_model, b.clip_model)


async def run_build(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    cache: EncoderCache,
    name: str,
    images: StoredImageReader | None,
    *,
    page_size: int = 20,
    on_progress: ProgressCallback | None = None,
) -> BuildProgress:
    generation = await registry.get(name)
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
    builder = GenerationBuilder(
        registry, copier, settings.documents_index, page_size=page_size, on_progress=on_progress
    )
    return await builder.build(name)


async def verify(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    cache: EncoderCache,
    name: str,
    images: StoredImageReader | None,
) -> RepairTotals:
    generation = await registry.get(name)
    encoders = await asyncio.to_thread(cache.encoders, generation.meta.config)
    copier = ChunkCopier(
        registry.client, encoders, images, max_image_pixels=settings.max_image_pixels
    )
    return await verify_and_repair(registry, copier, settings.documents_index, name)


@dataclass(frozen=True)
class Promotion:
    candidate: str
    live: str
    repaired: RepairTotals
    scores: dict[str, dict[str, float]]
    decision: GateDecision | None
    switched: bool


async def promote(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    cache: EncoderCache,
    images: StoredImageReader | None,
    *,
    candidate: str | None = None,
    evaluate: Evaluate | None = None,
    tolerance: float = 0.01,
    force: bool = False,
) -> Promotion:
    """Verify-and-repair the candidate (default: the newest ready generation), evaluate
    both side by side (when ``evaluate`` is given), switch if the gate passes or ``force``."""
    generations = await registry.list()
    live = next((g for g in generations if g.live), None)
    if live is None:
        raise GenerationError("no live generation")
    ready = [g for g in generations if g.meta.state == "ready" and not g.live]
    chosen = (
        next((g for g in generations if g.name == candidate), None)
        if candidate
        else (ready[-1] if ready else None)
    )
    if chosen is None or chosen.live:
        raise GenerationError(
            f"no generation {candidate} to promote"
            if candidate
            else "no ready generation: build one first (mmrag generations build)"
        )
    if chosen.meta.state == "building":
        raise GenerationError(f"{chosen.name} is still building: finish the build first")
    repaired = await verify(registry, settings, cache, chosen.name, images)
    scores: dict[str, dict[str, float]] = {}
    decision = None
    if evaluate is not None:
        for generation in (live, chosen):
            encoders = await asyncio.to_thread(cache.encoders, generation.meta.config)
            scores[generation.name] = await evaluate(generation, encoders)
        decision = decide_promotion(scores[live.name], scores[chosen.name], tolerance=tolerance)
        current = (await registry.get(chosen.name)).meta
        await registry.save(chosen.name, current.model_copy(update={"evaluation": scores}))
    switched = False
    if force or decision is None or decision.passed:
        await registry.switch(chosen.name)
        switched = True
    return Promotion(chosen.name, live.name, repaired, scores, decision, switched)


async def rollback(
    registry: GenerationRegistry,
    settings: IndexerSettings | None = None,
    cache: EncoderCache | None = None,
    images: StoredImageReader | None = None,
) -> tuple[str, str | None, RepairTotals | None]:
    """Back to the generation that was live before, in one alias request; returns (now
    live, left, repairs). With ``settings`` and ``cache`` it is first verified and
    repaired like a promotion's candidate (the dual write kept it current; this checks)."""
    target = rollback_target(await registry.list())
    repaired = None
    if settings is not None and cache is not None:
        repaired = await verify(registry, settings, cache, target.name, images)
    left = await registry.switch(target.name)
    return target.name, left, repaired
