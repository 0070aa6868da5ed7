"""The worker's indexer when generations chunk differently: one pipeline per chunking
group (:mod:`indexer.generations.chunking_groups`) for every batch of changes.

    batch ─ primary group's pipeline (the live generation's: outcomes, dead letters,
            the manifests the worker caches) ─ then each secondary group's pipeline
            (the same events, its own chunking, models, generations and documents
            index; failures logged, never the batch's)

Roles follow the alias at run time (the generations are read again every few seconds):
after ``promote`` or ``rollback`` the other group is primary without a restart. A group's
pipeline is built the first time the group is seen (its models loaded once, through the
``EncoderCache``) and again when its role changes; the pipeline of a group that is gone
(a dropped generation) is closed. Manifests the caller cached are the primary group's:
only those of the primary pipeline's chunking version are passed on (after a switch, the
cache still holds the other group's). A secondary group copies the vectors of chunks the
live generation holds already (``vector_reuse``), so a chunk whose id did not change is
never embedded twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from elasticsearch import AsyncElasticsearch

from indexer.encoders.base import Encoders
from indexer.events import ChangeEvent
from indexer.generations.alias_view import GenerationsView
from indexer.generations.chunking_groups import (
    ChunkingGroup,
    ChunkSize,
    chunking_groups,
    primary_group,
)
from indexer.generations.encoders import EncoderCache
from indexer.generations.fanout import dual_writing_store
from indexer.generations.registry import Generation
from indexer.generations.vector_reuse import LiveVectors
from indexer.manifest import Manifest
from indexer.outcomes import BatchResult
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.source_retry import SourceRetry
from indexer.sources import ContentReader
from indexer.store.mappings import VectorSpace

logger = logging.getLogger(__name__)


class GroupPipeline(Protocol):
    """What the indexer needs of a group's pipeline (``IndexingPipeline``)."""

    @property
    def pipeline_version(self) -> str: ...

    @property
    def vector_space(self) -> VectorSpace: ...

    async def setup(self) -> str: ...

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult: ...

    async def close(self) -> None: ...


PipelineFactory = Callable[[ChunkingGroup, bool], Awaitable[GroupPipeline]]
"""Builds a group's pipeline (``True``: the group is primary now); not yet set up."""


class GenerationSource(Protocol):
    """The alias's generations (``GenerationsView``)."""

    async def wait_until_ready(self) -> None: ...

    async def current(self) -> list[Generation]: ...


@dataclass(frozen=True)
class _Built:
    primary: bool
    chunk_size: ChunkSize
    pipeline: GroupPipeline
    lead: str


class ChunkingGroupIndexer:
    """A :class:`indexer.ports.ChangeIndexer` over every chunking group (see the module
    docstring)."""

    def __init__(
        self,
        view: GenerationSource,
        build: PipelineFactory,
        *,
        shared_documents_index: str,
        default_chunk_size: ChunkSize,
        name: str = "",
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``name``: in the log lines (the lane); ``on_close``: run after the pipelines
        are closed (closing the view's client, say)."""
        self._view = view
        self._build = build
        self._shared = shared_documents_index
        self._default = default_chunk_size
        self._name = name
        self._on_close = on_close
        self._pipelines: dict[str, _Built] = {}

    async def setup(self) -> tuple[str, GroupPipeline]:
        """The primary group's pipeline, set up (generation 1 made if none exists), and
        its lead generation's name."""
        await self._view.wait_until_ready()
        groups = await self._groups()
        group = primary_group(groups, self._shared, self._default)
        pipeline = await self._pipeline(group, True)
        return self._pipelines[group.documents_index].lead, pipeline

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult:
        groups = await self._groups()
        primary = primary_group(groups, self._shared, self._default)
        pipeline = await self._pipeline(primary, True)
        version = pipeline.pipeline_version
        mine = {
            doc_id: manifest
            for doc_id, manifest in (cached or {}).items()
            if manifest.pipeline_version == version
        }
        result = await pipeline.process(events, mine)
        for group in groups:
            if group.documents_index != primary.documents_index:
                await self._secondary(group, events)
        await self._forget({group.documents_index for group in groups})
        return result

    async def close(self) -> None:
        built, self._pipelines = list(self._pipelines.values()), {}
        for entry in built:
            await entry.pipeline.close()
        if self._on_close is not None:
            await self._on_close()

    async def _groups(self) -> list[ChunkingGroup]:
        return chunking_groups(await self._view.current(), self._shared, self._default)

    async def _secondary(self, group: ChunkingGroup, events: Sequence[ChangeEvent]) -> None:
        """Index the events into a secondary group; its failures are only logged (the
        builder's reconciliation publishes again what a group missed)."""
        try:
            pipeline = await self._pipeline(group, False)
            result = await pipeline.process(events)
        except Exception:
            logger.exception(
                "chunking_group_failed lane=%s documents_index=%s generations=%s",
                self._name,
                group.documents_index,
                ",".join(group.names),
            )
            return
        failed = sum(1 for outcome in result.outcomes if outcome.status == "failed")
        logger.info(
            "chunking_group_indexed lane=%s documents_index=%s events=%d failed=%d "
            "embedded=%d copied=%d deleted=%d",
            self._name,
            group.documents_index,
            len(result.outcomes),
            failed,
            result.chunks_embedded,
            result.vectors_copied,
            result.chunks_deleted,
        )

    async def _pipeline(self, group: ChunkingGroup, primary: bool) -> GroupPipeline:
        """The group's pipeline, built (and set up) when first needed or when its role or
        chunking changed."""
        built = self._pipelines.get(group.documents_index)
        if built is not None and (built.primary, built.chunk_size) == (
            primary,
            group.chunk_size,
        ):
            return built.pipeline
        if built is not None:
            del self._pipelines[group.documents_index]
            await built.pipeline.close()
        pipeline = await self._build(group, primary)
        try:
            generation = await pipeline.setup()
        except BaseException:
            await pipeline.close()
            raise
        self._pipelines[group.documents_index] = _Built(
            primary, group.chunk_size, pipeline, generation
        )
        logger.info(
            "chunking_group_ready lane=%s role=%s documents_index=%s lead=%s "
            "generations=%s chunking=%s",
            self._name,
            "primary" if primary else "secondary",
            group.documents_index,
            generation,
            ",".join(group.names),
            pipeline.pipeline_version,
        )
        return pipeline

    async def _forget(self, present: set[str]) -> None:
        for documents_index in [d for d in self._pipelines if d not in present]:
            built = self._pipelines.pop(documents_index)
            logger.info(
                "chunking_group_gone lane=%s documents_index=%s", self._name, documents_index
            )
            await built.pipeline.close()


def group_pipelines(
    settings: IndexerSettings,
    cache: EncoderCache,
    configured: Encoders,
    view: GenerationsView,
    client: AsyncElasticsearch,
    *,
    lane_encoders: Callable[[Encoders, bool], Encoders],
    source_retry: SourceRetry,
    image_max_side: int,
) -> PipelineFactory:
    """The worker's :data:`PipelineFactory`: a group's pipeline embeds with its lead's
    models (``configured`` before any generation exists; ``lane_encoders`` wraps them
    for the lane, given whether the group is primary), chunks with the group's chunk
    size, writes through a dual-writing store of the group, and, when secondary, copies
    vectors from the live generation (read through ``client``)."""

    async def build(group: ChunkingGroup, primary: bool) -> GroupPipeline:
        config = group.config
        encoders = configured
        if config is not None:
            loaded = await asyncio.to_thread(cache.encoders, config)
            encoders = Encoders(text=loaded.text, clip=loaded.clip, ocr=configured.ocr)
        store = dual_writing_store(
            settings, cache, documents_index=group.documents_index, view=view
        )
        return IndexingPipeline(
            settings,
            store,
            lane_encoders(encoders, primary),
            ContentReader(settings),
            source_retry=source_retry,
            image_max_side=image_max_side,
            chunk_size=(group.chunk_size.max_tokens, group.chunk_size.overlap_tokens),
            stored_vectors=None if primary else LiveVectors(client, settings.chunks_alias),
        )

    return build


__all__ = ["ChunkingGroupIndexer", "GroupPipeline", "PipelineFactory", "group_pipelines"]
