"""Filling a new generation from the live one, and checking it before a switch.

**Build**: documents are copied in ``doc_id`` order, a page at a time; each page's
manifests are read in real time, their chunks copied from the source generation with the
vectors the new generation needs, then the manifests are read again and a document that
changed meanwhile is repaired (so a chunk deleted during the copy does not come back).
Progress is saved in the new generation's ``_meta`` after every page: run again, the build
resumes after the last page saved. Live changes reach the new generation through the
worker's dual write (``indexer.generations.fanout``).

**Verify**: every document's chunks in the new generation are made exactly its
manifest's (with the live copy's fields); documents whose manifest changed during the pass
are checked again, until a pass finds nothing changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from indexer.generations.copying import (
    ChunkCopier,
    read_manifests,
    repair_documents,
    roots_of,
    wanted_ids,
)
from indexer.generations.elastic_io import pages
from indexer.generations.meta import BuildProgress, GenerationMeta
from indexer.generations.registry import GenerationError, GenerationRegistry
from indexer.generations.repair import RepairTotals
from indexer.manifest import Manifest
from indexer.store.mappings import LIVE_MANIFESTS

logger = logging.getLogger(__name__)

VERIFY_ROUNDS = 5

ProgressCallback = Callable[[BuildProgress], None]


class GenerationBuilder:
    def __init__(
        self,
        registry: GenerationRegistry,
        copier: ChunkCopier,
        documents_index: str,
        *,
        page_size: int = 20,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self._registry = registry
        self._copier = copier
        self._documents = documents_index
        self._page_size = page_size
        self._on_progress = on_progress or (lambda _: None)

    async def build(self, name: str) -> BuildProgress:
        generation = await self._registry.get(name)
        meta = generation.meta
        if meta.state not in ("building", "ready"):
            raise GenerationError(f"{name} is {meta.state}: only a new generation is built")
        progress = meta.build
        if progress.finished:
            return progress
        source = progress.source or (await self._registry.live()).name
        client = self._registry.client
        await client.indices.refresh(index=self._documents)
        total = await client.count(index=self._documents, query=LIVE_MANIFESTS)
        progress = progress.model_copy(
            update={"source": source, "documents_total": int(total["count"])}
        )
        counts = self._copier.counts
        started = time.perf_counter() - progress.seconds
        async for hits in pages(
            client,
            self._documents,
            "doc_id",
            after=progress.cursor,
            size=self._page_size,
            query=LIVE_MANIFESTS,
        ):
            doc_ids = [str(hit["_id"]) for hit in hits]
            manifests = await read_manifests(client, self._documents, doc_ids)
            chunk_ids = [c for m in manifests.values() for c in wanted_ids(m)]
            result = await self._copier.copy(chunk_ids, source, name, roots_of(manifests))
            again = await read_manifests(client, self._documents, doc_ids)
            changed: dict[str, Manifest | None] = {
                doc_id: again.get(doc_id)
                for doc_id in doc_ids
                if _revision(again.get(doc_id)) != _revision(manifests.get(doc_id))
            }
            if changed or result.missing:
                for doc_id in doc_ids:  # a missing chunk: its document changed meanwhile
                    if doc_id not in changed and doc_id in again:
                        ids = set(wanted_ids(again[doc_id]))
                        if ids & set(result.missing):
                            changed[doc_id] = again[doc_id]
                if changed:
                    await repair_documents(self._copier, changed, source, name, RepairTotals())
            progress = progress.model_copy(
                update={
                    "cursor": doc_ids[-1],
                    "documents_done": progress.documents_done + len(doc_ids),
                    "chunks_copied": progress.chunks_copied + result.copied,
                    "text_vectors_reused": counts.text_reused,
                    "text_vectors_embedded": counts.text_embedded,
                    "clip_vectors_reused": counts.clip_reused,
                    "clip_vectors_embedded": counts.clip_embedded,
                    "images_unreadable": counts.images_unreadable,
                    "seconds": time.perf_counter() - started,
                }
            )
            await self._save(name, meta, progress)
            self._on_progress(progress)
        progress = progress.model_copy(
            update={"finished": True, "seconds": time.perf_counter() - started}
        )
        await self._save(name, meta, progress, state="ready")
        self._on_progress(progress)
        logger.info("generation_built name=%s %s", name, progress.model_dump_json())
        return progress

    async def _save(
        self,
        name: str,
        meta: GenerationMeta,
        progress: BuildProgress,
        state: str | None = None,
    ) -> None:
        update: dict[str, Any] = {"build": progress}
        if state is not None:
            update["state"] = state
        await self._registry.save(name, meta.model_copy(update=update))


async def verify_and_repair(
    registry: GenerationRegistry,
    copier: ChunkCopier,
    documents_index: str,
    target: str,
    *,
    live: str | None = None,
    page_size: int = 200,
) -> RepairTotals:
    """Make ``target`` hold exactly every manifest's chunks (see the module docstring)."""
    client = registry.client
    live = live or (await registry.live()).name
    totals = RepairTotals()
    await client.indices.refresh(index=documents_index)
    seen: dict[str, int | None] = {}
    async for hits in pages(client, documents_index, "doc_id", size=page_size):
        doc_ids = [str(hit["_id"]) for hit in hits]
        manifests = await read_manifests(client, documents_index, doc_ids)
        seen.update({doc_id: _revision(manifests.get(doc_id)) for doc_id in doc_ids})
        await repair_documents(copier, {d: manifests.get(d) for d in doc_ids}, live, target, totals)
    for _ in range(VERIFY_ROUNDS):
        changed: dict[str, Manifest | None] = {}
        await client.indices.refresh(index=documents_index)
        async for hits in pages(client, documents_index, "doc_id", size=1000):
            doc_ids = [str(hit["_id"]) for hit in hits]
            manifests = await read_manifests(client, documents_index, doc_ids)
            for doc_id in doc_ids:
                revision = _revision(manifests.get(doc_id))
                if seen.get(doc_id, -1) != revision:
                    changed[doc_id] = manifests.get(doc_id)
                    seen[doc_id] = revision
        if not changed:
            break
        ids = list(changed)
        for start in range(0, len(ids), page_size):
            batch = {d: changed[d] for d in ids[start : start + page_size]}
            await repair_documents(copier, batch, live, target, totals)
    await client.indices.refresh(index=target)
    logger.info(
        "generation_verified target=%s documents=%d copied=%d deleted=%d refreshed=%d "
        "unrepairable=%d",
        target,
        totals.documents,
        totals.copied,
        totals.deleted,
        totals.refreshed,
        len(totals.unrepairable),
    )
    return totals


def _revision(manifest: Manifest | None) -> int | None:
    return manifest.revision if manifest is not None else None
