"""Dual write: the worker's changes reach every generation of a chunking group, each with
the vectors of its own models.

The ``ChunkStore`` a chunking group's pipeline writes through
(:mod:`indexer.generations.chunking_groups`: the generations whose manifests are in one
documents index, this store's). It learns the generations from Elasticsearch (every
``refresh_s``, cheap: one mapping and one alias read) and, for each batch, writes every
document's chunk operations to each generation of its group: the lead (the live one when
the group holds it, else the group's first; its failures fail the document) and the
others (a building one, a ready one, the one kept for rollback), whose failures are
logged and repaired (an update of a chunk a generation does not hold yet becomes a copy
from the lead; the promotion's verify pass catches the rest). Reads (stored chunk ids,
manifests) go to the lead and the group's documents index. A chunk whose models differ
from a generation's (its ``text_model`` and ``clip_model`` fields say which made its
vectors) is embedded again for it; identical models mean the vectors are reused, not
recomputed. Manifests are written last, once, as the plain store does.

So the worker's configured models matter for creating generation 1 and for the vectors
it computes first; the pipelines of the chunking groups embed with their lead's models
(``indexer.generations.group_indexer``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from indexer.generations.alias_view import GenerationsView
from indexer.generations.copying import ChunkCopier
from indexer.generations.elastic_io import bulk
from indexer.generations.encoders import EncoderCache
from indexer.generations.registry import Generation, GenerationError
from indexer.generations.stored_images import StoredImageReader
from indexer.manifest import Manifest
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from indexer.store.mappings import VectorSpace
from indexer.store.records import ChunkOperation, DocumentWrite

logger = logging.getLogger(__name__)


class GenerationFanout:
    """A :class:`indexer.ports.ChunkStore` over ``ElasticsearchStore`` that writes every
    generation of the group whose manifests are in ``store.documents_index`` (see the
    module docstring)."""

    def __init__(
        self,
        store: ElasticsearchStore,
        settings: IndexerSettings,
        cache: EncoderCache,
        images: StoredImageReader | None,
        *,
        refresh_s: float = 5.0,
        reader: ContentReader | None = None,
        view: GenerationsView | None = None,
    ) -> None:
        """``settings``: the worker's (its ``documents_index`` is the shared one; the
        group's is ``store``'s); ``reader``: closed with this store (the one behind
        ``images``, when it is this store's own); ``view``: shared with the other groups
        of the lane (else this store reads the generations itself every ``refresh_s``)."""
        self._reader = reader
        self._store = store
        self._settings = settings
        self._cache = cache
        self._images = images
        self._view = view or GenerationsView(
            store.client, settings.chunks_alias, refresh_s=refresh_s
        )
        self._group = store.documents_index
        self._shared = settings.documents_index

    async def wait_until_ready(self) -> None:
        await self._store.wait_until_ready()

    async def ensure_indexes(self, space: VectorSpace) -> str:
        """The group holding the live generation (or the shared group before any
        generation exists): as the plain store (``GenerationMismatch`` included: the
        worker's group pipelines embed with their lead's models,
        ``group_indexer.group_pipelines``).
        Another group: its documents index, and its lead's name."""
        generations = await self.generations()
        lead = generations[0] if generations else None
        if lead is None and self._group != self._shared:
            raise GenerationError(f"no generation keeps its manifests in {self._group}")
        if lead is None or lead.live:
            name = await self._store.ensure_indexes(space)
            self._view.expire()
            return name
        await self._store.ensure_documents_index()
        return lead.name

    async def load_manifests(self, doc_ids: Sequence[str]) -> dict[str, Manifest]:
        """From the group's documents index."""
        return await self._store.load_manifests(doc_ids)

    async def existing_chunk_ids(self, chunk_ids: Sequence[str]) -> set[str]:
        """Held by the group's lead (behind the alias before any generation exists)."""
        generations = await self.generations()
        if not generations:
            return await self._store.existing_chunk_ids(chunk_ids)
        return await self._store.existing_chunk_ids(chunk_ids, index=generations[0].name)

    async def close(self) -> None:
        await self._store.close()
        if self._reader is not None:
            await self._reader.close()

    async def generations(self) -> list[Generation]:
        """The group's generations, lead first (the live one when the group holds it,
        else the oldest), re-read every ``refresh_s``."""
        found = await self._view.current()
        mine = [g for g in found if g.meta.documents_index_or(self._shared) == self._group]
        return sorted(mine, key=lambda g: not g.live)

    async def apply(self, writes: Sequence[DocumentWrite]) -> dict[str, str]:
        generations = await self.generations()
        if not generations:
            if self._group == self._shared:
                return await self._store.apply(writes)  # nothing to fan out to (yet)
            reason = f"no generation keeps its manifests in {self._group} (dropped?)"
            return {write.doc_id: reason for write in writes}
        lead, others = generations[0], generations[1:]
        roots = {w.doc_id: w.manifest.fields.root if w.manifest.fields else None for w in writes}
        owner = {op.chunk_id: w.doc_id for w in writes for op in w.operations}
        failed = await self._write(lead, writes, roots, refresh=self._settings.refresh)
        failures = {owner.get(chunk_id, chunk_id): reason for chunk_id, reason in failed.items()}
        manifests = [
            DocumentWrite(w.doc_id, [], w.manifest) for w in writes if w.doc_id not in failures
        ]
        failures.update(await self._store.apply(manifests))
        # The others all at once, refreshed like the lead: around a switch the API may
        # still read the generation it cached (5 s), and a change it was told about must
        # be searchable in whichever generation it reads.
        await asyncio.gather(
            *(self._write_secondary(generation, lead, writes, roots) for generation in others)
        )
        return failures

    async def _write(
        self,
        generation: Generation,
        writes: Sequence[DocumentWrite],
        roots: dict[str, str | None],
        *,
        refresh: str = "false",
    ) -> dict[str, str]:
        converted = await self._converted(generation, writes, roots)
        actions = [_action(generation.name, op) for write in converted for op in write.operations]
        return await bulk(self._store.client, actions, refresh=refresh)

    async def _write_secondary(
        self,
        generation: Generation,
        lead: Generation,
        writes: Sequence[DocumentWrite],
        roots: dict[str, str | None],
    ) -> None:
        try:
            await self._write_secondary_or_raise(generation, lead, writes, roots)
        except Exception:  # never fail the live write for a generation being built
            logger.exception("dual_write_failed generation=%s", generation.name)

    async def _write_secondary_or_raise(
        self,
        generation: Generation,
        lead: Generation,
        writes: Sequence[DocumentWrite],
        roots: dict[str, str | None],
    ) -> None:
        failed = await self._write(generation, writes, roots, refresh=self._settings.refresh)
        updates = {
            op.chunk_id for write in writes for op in write.operations if op.action == "update"
        }
        missing = [chunk_id for chunk_id in failed if chunk_id in updates]
        if missing:  # chunks this generation does not hold yet: copy them whole
            copier = await self._copier(generation)
            await copier.copy(missing, lead.name, generation.name, roots, operation="index")
        for chunk_id in set(failed) - set(missing):
            logger.warning(
                "dual_write_item_failed generation=%s chunk_id=%s %s",
                generation.name,
                chunk_id,
                failed[chunk_id],
            )

    async def _copier(self, generation: Generation) -> ChunkCopier:
        """Loading a generation's models the first time takes a while: off the loop."""
        encoders = await asyncio.to_thread(self._cache.encoders, generation.meta.config)
        return ChunkCopier(
            self._store.client,
            encoders,
            self._images,
            max_image_pixels=self._settings.max_image_pixels,
        )

    async def _converted(
        self,
        generation: Generation,
        writes: Sequence[DocumentWrite],
        roots: dict[str, str | None],
    ) -> list[DocumentWrite]:
        """The writes with ``generation``'s vectors on every indexed chunk."""
        config = generation.meta.config
        bodies = [
            op.body
            for write in writes
            for op in write.operations
            if op.action == "index"
            and _made_with(op.body) != (config.text_model, config.clip_model)
        ]
        if not bodies:
            return list(writes)
        copier = await self._copier(generation)
        converted = await copier.convert(bodies, roots)
        by_id = {str(body["chunk_id"]): body for body in converted}
        return [
            replace(
                write,
                operations=[
                    replace(op, body=by_id[op.chunk_id])
                    if op.action == "index" and op.chunk_id in by_id
                    else op
                    for op in write.operations
                ],
            )
            for write in writes
        ]


def dual_writing_store(
    settings: IndexerSettings,
    cache: EncoderCache,
    *,
    documents_index: str | None = None,
    view: GenerationsView | None = None,
) -> GenerationFanout:
    """A chunking group's store (the group whose manifests are in ``documents_index``,
    default the shared one): each of its generations written with encoders from
    ``cache`` (seeded with the ones the worker loaded)."""
    reader = ContentReader(settings)
    group = settings.model_copy(
        update={"documents_index": documents_index or settings.documents_index}
    )
    return GenerationFanout(
        ElasticsearchStore(group),
        settings,
        cache,
        StoredImageReader(reader, settings),
        reader=reader,
        view=view,
    )


def _made_with(body: dict[str, Any]) -> tuple[Any, Any]:
    return body.get("text_model"), body.get("clip_model")


def _action(index: str, op: ChunkOperation) -> dict[str, Any]:
    if op.action == "delete":
        return {"_op_type": "delete", "_index": index, "_id": op.chunk_id}
    if op.action == "update":
        return {"_op_type": "update", "_index": index, "_id": op.chunk_id, "doc": op.body}
    return {"_op_type": "index", "_index": index, "_id": op.chunk_id, "_source": op.body}
