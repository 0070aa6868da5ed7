"""The indexing pipeline: a batch of change events in, the store brought up to date.

    events ─ fold per document (document_folder: read + extract + chunk new content only)
           ─ diff against the manifest ─ embed new chunks only (batch_embedding)
           ─ plan the writes (write_plan, pure) ─ apply them ─ manifests

Stale and replayed events change nothing; unchanged chunks are never re-embedded; a bad
document fails alone (its outcome says why and at which stage: ``fetch``, ``extract``,
``encode``, ``store``) while the others are written. A document whose content is unchanged
but whose chunks went missing from the index (lost, restored from an old snapshot) gets
them written again: only the missing ones are embedded. An unavailable store raises
:class:`StoreUnavailable` for the whole batch (nothing is the documents' fault).

Lanes: :meth:`IndexingPipeline.sharing` makes a second pipeline on the same store, reader
and settings with its own ``Encoders`` (the same models behind a priority gate, say);
only the pipeline that was built with the resources closes them.

Chunking groups (``indexer.generations.group_indexer``): a pipeline may chunk with other
parameters than the settings' (``chunk_size``) and copy the vectors of chunks another
index already holds (``stored_vectors``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from indexer.batch_embedding import BatchEmbedder, StoredVectors
from indexer.chunks import Chunk, ChunkingOptions
from indexer.content import DocumentContent
from indexer.document_folder import DocumentFolder
from indexer.encoders.base import Encoders
from indexer.encoders.settings import DEFAULT_IMAGE_MAX_SIDE
from indexer.events import ChangeEvent
from indexer.extract import ExtractionLimits
from indexer.manifest import Manifest
from indexer.outcomes import BatchResult, DocumentChange, EventOutcome, FoldedDocument
from indexer.ports import ChunkStore
from indexer.settings import IndexerSettings
from indexer.source_retry import BatchSources, SourceRetry
from indexer.sources import ContentReader
from indexer.store.mappings import VectorSpace
from indexer.write_plan import ModelNames, plan_writes, planned_diff


class IndexingPipeline:
    def __init__(
        self,
        settings: IndexerSettings,
        store: ChunkStore,
        encoders: Encoders,
        reader: ContentReader,
        *,
        source_retry: SourceRetry | None = None,
        image_max_side: int = DEFAULT_IMAGE_MAX_SIDE,
        owns_resources: bool = True,
        chunk_size: tuple[int, int] | None = None,
        stored_vectors: StoredVectors | None = None,
    ) -> None:
        """``image_max_side``: the encoders' ``EncoderSettings.image_max_side``;
        ``owns_resources``: :meth:`close` closes ``store`` and ``reader`` (False when
        another pipeline or the caller owns them); ``chunk_size``: the chunker's
        ``(max_tokens, overlap_tokens)`` (default: the settings'); ``stored_vectors``:
        where vectors of identical chunks may be copied from instead of embedded."""
        self._settings = settings
        self._source_retry = source_retry or SourceRetry()
        self._store = store
        self._encoders = encoders
        self._reader = reader
        self._image_max_side = image_max_side
        self._owns_resources = owns_resources
        self._closed = False
        self._chunk_size = chunk_size
        self._stored_vectors = stored_vectors
        max_tokens, overlap_tokens = chunk_size or (
            settings.chunk_max_tokens,
            settings.chunk_overlap_tokens,
        )
        chunking = ChunkingOptions(max_tokens, overlap_tokens, tokenizer=encoders.text)
        self._pipeline_version = chunking.version
        limits = ExtractionLimits(
            max_bytes=settings.max_document_bytes, max_image_pixels=settings.max_image_pixels
        )
        content = DocumentContent(reader, chunking, limits, settings.extract_timeout_s)
        self._folder = DocumentFolder(content, store, chunking.version)
        self._embedder = BatchEmbedder(encoders, settings, image_max_side, stored_vectors)

    def sharing(self, encoders: Encoders) -> IndexingPipeline:
        """A pipeline on this one's store, reader, settings and source retry with other
        ``encoders``; closing it leaves the shared store and reader open."""
        return IndexingPipeline(
            self._settings,
            self._store,
            encoders,
            self._reader,
            source_retry=self._source_retry,
            image_max_side=self._image_max_side,
            owns_resources=False,
            chunk_size=self._chunk_size,
            stored_vectors=self._stored_vectors,
        )

    @property
    def pipeline_version(self) -> str:
        """The chunking version its manifests record (``ChunkingOptions.version``)."""
        return self._pipeline_version

    @property
    def vector_space(self) -> VectorSpace:
        clip = self._encoders.clip
        return VectorSpace(
            text_model=self._encoders.text.name,
            text_dimensions=self._encoders.text.dimensions,
            clip_model=clip.name if clip else None,
            clip_dimensions=clip.dimensions if clip else None,
        )

    async def close(self) -> None:
        """Close the store and the reader if this pipeline owns them; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_resources:
            await self._store.close()
            await self._reader.close()

    async def setup(self) -> str:
        await self._store.wait_until_ready()
        return await self._store.ensure_indexes(self.vector_space)

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult:
        result = BatchResult()
        grouped: dict[str, list[ChangeEvent]] = {}
        for event in events:
            grouped.setdefault(event.doc_id, []).append(event)
        cached = cached or {}
        manifests = {doc_id: cached[doc_id] for doc_id in grouped if doc_id in cached}
        manifests.update(
            await self._store.load_manifests([d for d in grouped if d not in manifests])
        )

        started = time.perf_counter()
        sources = BatchSources(self._source_retry)
        folded = {
            doc_id: await self._folder.fold(doc_id, doc_events, manifests.get(doc_id), sources)
            for doc_id, doc_events in grouped.items()
        }
        result.extract_seconds = time.perf_counter() - started

        folded = await self._write(folded, result)
        for document in folded.values():
            result.outcomes.extend(document.outcomes)
        return result

    async def _write(
        self, folded: dict[str, FoldedDocument], result: BatchResult
    ) -> dict[str, FoldedDocument]:
        """Embed, plan and apply the changes; the documents as they ended (some failed)."""
        changes = [document.change for document in folded.values() if document.change]
        to_embed, already_stored = await self._new_chunks(changes)
        started = time.perf_counter()
        embedded = await self._embedder.embed(to_embed)
        result.embed_seconds = time.perf_counter() - started
        for doc_id, reason in embedded.failures.items():
            folded[doc_id] = folded[doc_id].failed("encode", reason)
        result.chunks_embedded += len(embedded.vectors) - len(embedded.copied)
        result.vectors_copied += len(embedded.copied)
        result.images_embedded += sum(
            1
            for chunks in to_embed.values()
            for chunk in chunks
            if chunk.image is not None
            and chunk.chunk_id in embedded.vectors
            and chunk.chunk_id not in embedded.copied
        )

        clip = self._encoders.clip
        plan = plan_writes(
            [change for change in changes if change.doc_id not in embedded.failures],
            embedded.vectors,
            already_stored,
            ModelNames(self._encoders.text.name, clip.name if clip else None),
        )
        result.chunks_deleted += plan.counts.deleted
        result.chunks_reused += plan.counts.reused
        started = time.perf_counter()
        failures = await self._store.apply(plan.writes)
        result.store_seconds = time.perf_counter() - started
        for doc_id, manifest in plan.manifests.items():
            if doc_id in failures:
                folded[doc_id] = folded[doc_id].failed("store", failures[doc_id])
            else:
                result.manifests[doc_id] = manifest
        return folded

    async def _new_chunks(
        self, changes: list[DocumentChange]
    ) -> tuple[dict[str, list[Chunk]], set[str]]:
        """Each change's new chunks that need embedding, and the new chunk ids the store
        holds already (a replay, or a write that landed before a crash)."""
        diffs = {change.doc_id: planned_diff(change) for change in changes}
        candidates = [position.chunk_id for diff in diffs.values() for position in diff.new]
        already_stored = await self._store.existing_chunk_ids(candidates)
        to_embed = {
            change.doc_id: [
                chunk
                for position in diffs[change.doc_id].new
                if position.chunk_id not in already_stored
                and (chunk := change.chunks.get(position.chunk_id)) is not None
            ]
            for change in changes
        }
        return to_embed, already_stored


__all__ = ["BatchResult", "EventOutcome", "IndexingPipeline"]
