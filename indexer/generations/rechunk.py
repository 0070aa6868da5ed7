"""Filling a generation that chunks differently, and keeping two chunking groups equal.

A chunking group is the generations whose manifests one documents index holds
(``GenerationMeta.documents_index_or``); the worker indexes every event into every group
with that group's chunker. A new group starts empty, so it is filled through the event
path (``indexer.generations.republish`` says how an event is rebuilt from a manifest):

1. **Publish**: the live group's manifests, in ``doc_id`` order a page at a time, become
   upserts on the backfill lane (through a :class:`ChangePublisher`); the cursor is saved
   in the generation's ``_meta`` after each page, so a restarted build resumes.
2. **Reconcile**: both documents indexes are compared document by document until every
   document is in sync; one behind (or missing) for longer than the grace period once
   the worker has processed what was published is published again, a live tombstone
   becomes a delete. Progress (documents in sync of the live ones, ETA) is saved in
   ``BuildProgress``.
3. **Check chunks**: the generation must hold exactly each manifest's chunk ids: extra
   chunks are deleted; a document with missing chunks has its manifest in the new group
   removed, so reconciling publishes it again.

The same :func:`synchronise` verifies a candidate before a promotion, and the generation
a rollback returns to, when it is in another group than the live one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from indexer.events import utc_now
from indexer.generations.meta import BuildProgress, GenerationMeta
from indexer.generations.rechunk_sync import (
    ChangePublisher,
    GroupSync,
    RechunkOptions,
    SyncReport,
)
from indexer.generations.registry import GenerationError, GenerationRegistry
from indexer.store.mappings import LIVE_MANIFESTS

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[BuildProgress], None]

__all__ = [
    "ChangePublisher",
    "RechunkBuilder",
    "RechunkOptions",
    "SyncReport",
    "synchronise",
]


async def synchronise(
    registry: GenerationRegistry,
    publisher: ChangePublisher,
    shared_documents: str,
    target: str,
    options: RechunkOptions,
    *,
    on_round: Callable[[int, int], Any] | None = None,
) -> SyncReport:
    """Reconcile ``target``'s group with the live group, then check ``target``'s chunks
    (and reconcile again what that reset), a few rounds."""
    live = await registry.live()
    generation = await registry.get(target)
    sync = GroupSync(
        registry,
        publisher,
        source_generation=live.name,
        source_documents=live.meta.documents_index_or(shared_documents),
        target=target,
        target_documents=generation.meta.documents_index_or(shared_documents),
        options=options,
    )

    async def ignore(_: int, __: int) -> None:
        return None

    await sync.settle(on_round or ignore)
    return sync.report


class RechunkBuilder:
    """Runs steps 1-3 of the module docstring for a new generation of another group."""

    def __init__(
        self,
        registry: GenerationRegistry,
        publisher: ChangePublisher,
        shared_documents: str,
        options: RechunkOptions,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self._registry = registry
        self._publisher = publisher
        self._shared = shared_documents
        self._options = options
        self._on_progress = on_progress or (lambda _: None)

    async def build(self, name: str) -> tuple[BuildProgress, SyncReport]:
        generation = await self._registry.get(name)
        meta = generation.meta
        if meta.state not in ("building", "ready"):
            raise GenerationError(f"{name} is {meta.state}: only a new generation is built")
        if meta.documents_index is None:
            raise GenerationError(f"{name} shares the live documents index: copy it instead")
        if meta.build.finished:
            return meta.build, SyncReport()
        live = await self._registry.live()
        progress = meta.build.model_copy(update={"source": meta.build.source or live.name})
        client = self._registry.client
        await self._registry.ensure_documents_index(meta.documents_index)
        await self._settle(meta)
        started = time.perf_counter() - progress.seconds
        source_documents = live.meta.documents_index_or(self._shared)
        await client.indices.refresh(index=source_documents)
        total = int((await client.count(index=source_documents, query=LIVE_MANIFESTS))["count"])
        progress = progress.model_copy(update={"documents_total": total})
        sync = GroupSync(
            self._registry,
            self._publisher,
            source_generation=live.name,
            source_documents=source_documents,
            target=name,
            target_documents=meta.documents_index,
            options=self._options,
        )
        documents_index = meta.documents_index

        async def save(**update: Any) -> None:
            nonlocal progress
            progress = progress.model_copy(
                update={**update, "seconds": time.perf_counter() - started}
            )
            saved = (await self._registry.get(name)).meta
            await self._registry.save(name, saved.model_copy(update={"build": progress}))
            self._on_progress(progress)

        async def on_page(last: str, _: int) -> None:
            done = await client.count(index=documents_index, query=LIVE_MANIFESTS)
            await save(cursor=last, documents_done=int(done["count"]))

        async def on_round(in_sync: int, documents: int) -> None:
            await save(documents_done=in_sync, documents_total=documents)

        await sync.publish_all(progress.cursor, on_page)
        await sync.settle(on_round)
        await client.indices.refresh(index=name)
        await save(finished=True)
        current = (await self._registry.get(name)).meta
        await self._registry.save(name, current.model_copy(update={"state": "ready"}))
        logger.info("generation_rechunked name=%s %s", name, progress.model_dump_json())
        return progress, sync.report

    async def _settle(self, meta: GenerationMeta) -> None:
        if meta.created is None:
            return
        age = (utc_now() - meta.created).total_seconds()
        if age < self._options.settle_s:
            await asyncio.sleep(self._options.settle_s - age)
