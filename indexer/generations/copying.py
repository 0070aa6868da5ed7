"""Copying chunks into a generation, and repairing a document's chunks there.

A copy reads the chunk from a generation that has it (real time, by id), keeps every
field, copies or makes again each vector for the target's models, and writes it. The
builder writes with ``create``: a chunk the worker already wrote there (dual write, newer)
is left alone. A repair makes a document's chunks in the target exactly its manifest's,
with the live copy's fields.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from elasticsearch import AsyncElasticsearch

from indexer.encoders.base import Encoders
from indexer.generations.elastic_io import VECTORS, bulk, read_by_id
from indexer.generations.reembed import ReembedCounts, needs_image, plan_for_source, reembed
from indexer.generations.repair import RepairPlan, RepairTotals, comparable, plan_repair
from indexer.generations.stored_images import StoredImageReader
from indexer.manifest import Manifest
from indexer.store.records import manifest_from_source

logger = logging.getLogger(__name__)


@dataclass
class CopyResult:
    copied: int = 0
    missing: list[str] = field(default_factory=list)
    """Asked for, but the source generation does not hold them (deleted meanwhile)."""
    failures: dict[str, str] = field(default_factory=dict)


class ChunkCopier:
    def __init__(
        self,
        client: AsyncElasticsearch,
        encoders: Encoders,
        images: StoredImageReader | None,
        *,
        max_image_pixels: int,
        counts: ReembedCounts | None = None,
    ) -> None:
        self._client = client
        self._encoders = encoders
        self._images = images
        self._max_image_pixels = max_image_pixels
        self.counts = counts or ReembedCounts()

    @property
    def encoders(self) -> Encoders:
        return self._encoders

    @property
    def client(self) -> AsyncElasticsearch:
        return self._client

    async def convert(
        self, sources: Sequence[Mapping[str, Any]], roots: Mapping[str, str | None]
    ) -> list[dict[str, Any]]:
        """The chunks with the target's vectors (``roots``: doc id → watched root)."""
        plans = [plan_for_source(source, self._encoders) for source in sources]
        images: dict[str, bytes] = {}
        for source, plan in zip(sources, plans, strict=True):
            if not needs_image(source, plan) or self._images is None:
                continue
            try:
                images[str(source["chunk_id"])] = await self._images.read(
                    source, roots.get(str(source.get("doc_id")))
                )
            except Exception as error:  # counted as unreadable by reembed
                logger.warning("image_read_failed chunk_id=%s %s", source.get("chunk_id"), error)
        return await asyncio.to_thread(
            reembed,
            sources,
            plans,
            self._encoders,
            images,
            max_image_pixels=self._max_image_pixels,
            counts=self.counts,
        )

    async def copy(
        self,
        chunk_ids: Sequence[str],
        source_index: str,
        target_index: str,
        roots: Mapping[str, str | None],
        *,
        operation: Literal["create", "index"] = "create",
    ) -> CopyResult:
        result = CopyResult()
        found = await read_by_id(self._client, source_index, chunk_ids)
        result.missing = [chunk_id for chunk_id in chunk_ids if chunk_id not in found]
        converted = await self.convert(list(found.values()), roots)
        actions = [
            {"_op_type": operation, "_index": target_index, "_id": chunk_id, "_source": source}
            for chunk_id, source in zip(found, converted, strict=True)
        ]
        result.failures = await bulk(self._client, actions)
        result.copied = len(actions) - len(result.failures)
        return result


async def read_manifests(
    client: AsyncElasticsearch, documents_index: str, doc_ids: Sequence[str]
) -> dict[str, Manifest]:
    """Real-time reads of these documents' manifests (unknown ids left out)."""
    found = await read_by_id(client, documents_index, doc_ids)
    return {doc_id: manifest_from_source(source) for doc_id, source in found.items()}


def roots_of(manifests: Mapping[str, Manifest]) -> dict[str, str | None]:
    return {
        doc_id: manifest.fields.root if manifest.fields else None
        for doc_id, manifest in manifests.items()
    }


def wanted_ids(manifest: Manifest | None) -> list[str]:
    return [] if manifest is None or manifest.deleted else manifest.chunk_ids


async def chunks_by_document(
    client: AsyncElasticsearch, index: str, doc_ids: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """doc id → chunk id → source (no vectors) of what ``index`` holds for these
    documents; the caller refreshes the index first (this is a search)."""
    grouped: dict[str, dict[str, dict[str, Any]]] = {doc_id: {} for doc_id in doc_ids}
    if not doc_ids:
        return grouped
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": 2000,
            "query": {"terms": {"doc_id": list(doc_ids)}},
            "sort": [{"chunk_id": "asc"}],
            "_source": {"excludes": VECTORS},
        }
        if after is not None:
            body["search_after"] = after
        response = await client.search(index=index, body=body)
        hits = response["hits"]["hits"]
        for hit in hits:
            source = hit["_source"]
            grouped.setdefault(str(source.get("doc_id")), {})[str(hit["_id"])] = source
        if len(hits) < 2000:
            return grouped
        after = hits[-1]["sort"]


async def repair_documents(
    copier: ChunkCopier,
    manifests: Mapping[str, Manifest | None],
    live_index: str,
    target_index: str,
    totals: RepairTotals,
) -> None:
    """Make each document's chunks in ``target_index`` exactly its manifest's (``None``:
    no manifest, so no chunks), copying what is missing from ``live_index``."""
    client = copier.client
    doc_ids = list(manifests)
    await client.indices.refresh(index=target_index)
    held = await chunks_by_document(client, target_index, doc_ids)
    wanted = {doc_id: wanted_ids(manifest) for doc_id, manifest in manifests.items()}
    live = await read_by_id(
        client, live_index, [c for ids in wanted.values() for c in ids], vectors=False
    )
    plans: dict[str, RepairPlan] = {}
    for doc_id in doc_ids:
        ids = wanted[doc_id]
        plans[doc_id] = plan_repair(
            ids, held.get(doc_id, {}), {c: live[c] for c in ids if c in live}
        )
    totals.documents += len(doc_ids)
    copy = [c for plan in plans.values() for c in plan.copy]
    roots = roots_of({d: m for d, m in manifests.items() if m is not None})
    if copy:
        result = await copier.copy(copy, live_index, target_index, roots, operation="index")
        totals.unrepairable.extend(result.missing)
        totals.copied += result.copied
    actions: list[dict[str, Any]] = [
        {"_op_type": "delete", "_index": target_index, "_id": chunk_id}
        for plan in plans.values()
        for chunk_id in plan.delete
    ]
    actions.extend(
        {
            "_op_type": "update",
            "_index": target_index,
            "_id": chunk_id,
            "doc": comparable(live[chunk_id]),
        }
        for plan in plans.values()
        for chunk_id in plan.refresh
    )
    await bulk(client, actions)
    totals.deleted += sum(len(plan.delete) for plan in plans.values())
    totals.refreshed += sum(len(plan.refresh) for plan in plans.values())
    for doc_id, plan in plans.items():
        if not plan.empty:
            logger.info(
                "generation_repaired doc_id=%s copied=%d deleted=%d refreshed=%d",
                doc_id,
                len(plan.copy),
                len(plan.delete),
                len(plan.refresh),
            )
