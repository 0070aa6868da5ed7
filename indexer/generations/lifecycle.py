"""The lifecycle steps behind ``mmrag generations``: plan a build, run it, verify and
promote, roll back. Evaluation is injected (the gate lives with ``mmrag eval``), and so is
the change log a chunker change is rebuilt through (a ``ChangePublisher``: ``indexer``
does not import ``stream``)."""

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
from indexer.generations.rechunk import (
    ChangePublisher,
    RechunkBuilder,
    RechunkOptions,
    SyncReport,
    synchronise,
)
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


Verification = RepairTotals | SyncReport
"""A check before a switch: repairs copied from the live generation (same chunking
group), or a group brought level through the change log (another group)."""


async def verify(
    registry: GenerationRegistry,
    settings: IndexerSettings,
    cache: EncoderCache,
    name: str,
    images: StoredImageReader | None,
    *,
    publisher: ChangePublisher | None = None,
    rechunk: RechunkOptions | None = None,
) -> Verification:
    """Make ``name`` hold exactly its group's manifests' chunks: copied from the live
    generation in the live group, re-indexed through ``publisher`` in another group."""
    generation = await registry.get(name)
    live = await registry.live()
    documents = group_documents(generation, settings)
    if documents != group_documents(live, settings):
        if publisher is None:
            raise GenerationError(
                f"{name} chunks differently from the live generation: checking it needs "
                "the change log (run it through mmrag generations)"
            )
        return await synchronise(
            registry, publisher, settings.documents_index, name, rechunk or RechunkOptions()
        )
    encoders = await asyncio.to_thread(cache.encoders, generation.meta.config)
    copier = ChunkCopier(
        registry.client, encoders, images, max_image_pixels=settings.max_image_pixels
    )
    return await verify_and_repair(registry, copier, documents, name)


@dataclass(frozen=True)
class Promotion:
    candidate: str
    live: str
    repaired: Verification
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
    publisher: ChangePublisher | None = None,
    rechunk: RechunkOptions | None = None,
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
    repaired = await verify(
        registry, settings, cache, chosen.name, images, publisher=publisher, rechunk=rechunk
    )
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
    *,
    publisher: ChangePublisher | None = None,
    rechunk: RechunkOptions | None = None,
) -> tuple[str, str | None, Verification | None]:
    """Back to the generation that was live before, in one alias request; returns (now
    live, left, what the check did). With ``settings`` and ``cache`` it is first checked
    like a promotion's candidate (the worker kept it current; this makes sure)."""
    target = rollback_target(await registry.list())
    repaired = None
    if settings is not None and cache is not None:
        repaired = await verify(
            registry, settings, cache, target.name, images, publisher=publisher, rechunk=rechunk
        )
    left = await registry.switch(target.name)
    return target.name, left, repaired
