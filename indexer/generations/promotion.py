"""Verify, promote and roll back behind ``mmrag generations``: check a generation against
its group's manifests (repaired from the live one, or synchronised through the change log
for another chunking group), evaluate it beside the live one through the gate, switch the
alias. Evaluation is injected (the gate lives with ``mmrag eval``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from indexer.encoders.base import Encoders
from indexer.generations.builder import verify_and_repair
from indexer.generations.copying import ChunkCopier
from indexer.generations.encoders import EncoderCache
from indexer.generations.gate import GateDecision, decide_promotion
from indexer.generations.planning import group_documents
from indexer.generations.rechunk import ChangePublisher, RechunkOptions, SyncReport, synchronise
from indexer.generations.registry import (
    Generation,
    GenerationError,
    GenerationRegistry,
    rollback_target,
)
from indexer.generations.repair import RepairTotals
from indexer.generations.stored_images import StoredImageReader
from indexer.settings import IndexerSettings

Scores = Mapping[str, float]
Evaluate = Callable[[Generation, Encoders], Awaitable[dict[str, float]]]


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
