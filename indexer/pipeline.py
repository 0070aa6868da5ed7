"""The indexing pipeline: a batch of change events in, Elasticsearch brought up to date.

    events ─ fold per document ─ read + extract + chunk (new content only)
           ─ diff against the manifest ─ embed new chunks only ─ bulk write ─ manifests

Stale and replayed events change nothing; unchanged chunks are never re-embedded; a bad
document fails alone (its outcome says why and at which stage: ``fetch``, ``extract``,
``encode``, ``store``) while the others are written. A document whose content is unchanged
but whose chunks went missing from the index (lost, restored from an old snapshot) gets
them written again: only the missing ones are embedded. An unavailable store raises
:class:`StoreUnavailable` for the whole batch (nothing is the documents' fault).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from indexer.chunks import Chunk, ChunkingOptions, build_chunks
from indexer.dead_letters import Stage
from indexer.documents import ExtractedDocument, ImagePart
from indexer.encoders.base import Encoders
from indexer.errors import PermanentError, SourceGone, SourceUnavailable, TransientError
from indexer.events import ChangeEvent
from indexer.extract import ExtractionLimits, extract_document
from indexer.folding import EventStep, fold_events
from indexer.manifest import DocumentFields, Manifest
from indexer.outcomes import BatchResult, DocumentTarget, EventOutcome
from indexer.settings import IndexerSettings
from indexer.source_retry import BatchSources, SourceRetry
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from indexer.store.mappings import VectorSpace
from indexer.store.records import DocumentWrite
from indexer.vectors import ChunkVectors, embed_chunks
from indexer.write_plan import ModelNames, plan_writes, planned_diff

logger = logging.getLogger(__name__)

WATCHED_SOURCE_PREFIX = "fs:"
"""Sources of the file watcher: a file they name that is gone has a delete coming."""


class IndexingPipeline:
    def __init__(
        self,
        settings: IndexerSettings,
        store: ElasticsearchStore,
        encoders: Encoders,
        reader: ContentReader,
        *,
        source_retry: SourceRetry | None = None,
    ) -> None:
        self._settings = settings
        self._source_retry = source_retry or SourceRetry()
        self._store = store
        self._encoders = encoders
        self._reader = reader
        self._chunking = ChunkingOptions(
            settings.chunk_max_tokens, settings.chunk_overlap_tokens, tokenizer=encoders.text
        )
        self._limits = ExtractionLimits(
            max_bytes=settings.max_document_bytes, max_image_pixels=settings.max_image_pixels
        )

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
        targets = [
            await self._fold(doc_id, doc_events, manifests.get(doc_id), sources)
            for doc_id, doc_events in grouped.items()
        ]
        result.extract_seconds = time.perf_counter() - started

        writes = await self._writes(targets, result)
        started = time.perf_counter()
        failures = await self._store.apply(writes)
        result.store_seconds = time.perf_counter() - started

        for target in targets:
            if target.doc_id in failures:
                target.fail("store", failures[target.doc_id])
            elif target.manifest is not None and target.changed:
                result.manifests[target.doc_id] = target.manifest
            result.outcomes.extend(target.outcomes)
        return result

    # -- planning a document -----------------------------------------------------------

    async def _fold(
        self,
        doc_id: str,
        events: list[ChangeEvent],
        manifest: Manifest | None,
        sources: BatchSources,
    ) -> DocumentTarget:
        target = DocumentTarget(doc_id, start=manifest, manifest=manifest)
        for step in fold_events(events, manifest):
            event = step.event
            if step.action == "stale" or step.action == "superseded":
                target.outcomes.append(EventOutcome(event, step.action))
                continue
            current = target.manifest
            if step.action == "delete":
                target.manifest = Manifest(
                    doc_id=doc_id,
                    revision=event.revision,
                    deleted=True,
                    fields=current.fields if current else DocumentFields.from_event(event),
                    emitted_at=event.emitted_at,
                )
                target.chunks.clear()
                target.outcomes.append(EventOutcome(event, "deleted"))
            elif step.action == "move":
                if current is None or current.fields is None:
                    target.outcomes.append(_move_of_nothing(event, target.outcomes))
                    continue
                fields = current.fields.model_copy(update={"uri": event.new_uri or event.uri})
                target.manifest = current.model_copy(
                    update={
                        "revision": event.revision,
                        "fields": fields,
                        "emitted_at": event.emitted_at,
                    }
                )
                target.outcomes.append(EventOutcome(event, "moved"))
            else:
                await self._content(target, step, sources)
        return target

    async def _content(
        self, target: DocumentTarget, step: EventStep, sources: BatchSources
    ) -> None:
        event, current = step.event, target.manifest
        uri = step.read_uri or event.uri
        try:
            data = await sources.read(lambda: self._read(event, uri), uri)
        except SourceUnavailable as error:
            _fail(target, event, "fetch", error.reason)
            return
        except SourceGone as error:
            if not event.source.startswith(WATCHED_SOURCE_PREFIX):
                _fail(target, event, "extract", error.reason)
                return
            # A watched file deleted (or renamed) after this upsert was sent: the watcher's
            # delete or move follows, so there is nothing to index and nothing to dead-letter.
            target.outcomes.append(EventOutcome(event, "superseded", error.reason))
            logger.info("upsert_superseded doc_id=%s uri=%s reason=%s", event.doc_id, uri, error)
            return
        except PermanentError as error:
            _fail(target, event, "extract", error.reason)
            return
        except Exception as error:  # an unexpected OS error, say: this document only
            logger.exception("read_crashed doc_id=%s uri=%s", event.doc_id, uri)
            _fail(target, event, "fetch", f"reading crashed: {type(error).__name__}: {error}")
            return
        content_sha256 = _sha256(data)
        restoring = False
        if (
            current is not None
            and not current.deleted
            and current.content_sha256 is not None
            and current.content_sha256 == content_sha256
            and current.pipeline_version == self._chunking.version
        ):
            stored = await self._store.existing_chunk_ids(current.chunk_ids)
            target.missing = frozenset(current.chunk_ids) - stored
            restoring = bool(target.missing)
            if restoring:
                logger.warning(
                    "chunks_missing doc_id=%s missing=%d of=%d: writing them again",
                    target.doc_id,
                    len(target.missing),
                    len(current.chunks),
                )
            else:
                fields = DocumentFields.from_event(
                    event, current.fields.title if current.fields else None
                )
                fields = fields.model_copy(update={"uri": step.read_uri or fields.uri})
                target.manifest = current.model_copy(
                    update={
                        "revision": event.revision,
                        "fields": fields,
                        "emitted_at": event.emitted_at,
                    }
                )
                target.outcomes.append(EventOutcome(event, "unchanged"))
                return
        budget = self._settings.extract_timeout_s
        try:
            document = await asyncio.wait_for(
                asyncio.to_thread(
                    extract_document,
                    data,
                    event.content_type,
                    name=_name_of(step.read_uri or event.uri),
                    limits=self._limits,
                ),
                budget,
            )
            document = await self._with_assets(document, event, step.read_uri or event.uri)
            # the source's title, else the page's own, else the file name
            title = event.metadata.title or document.title or _name_of(step.read_uri or event.uri)
            chunks = await asyncio.wait_for(
                asyncio.to_thread(build_chunks, target.doc_id, document, self._chunking, title),
                budget,
            )
        except TransientError:
            raise
        except TimeoutError:
            _fail(
                target,
                event,
                "extract",
                f"extraction took longer than its budget of {budget:g} s "
                "(MMRAG_EXTRACT_TIMEOUT_S); the document is too large or pathological",
            )
            return
        except PermanentError as error:
            _fail(target, event, "extract", error.reason)
            return
        except Exception as error:  # a parser blowing up (RecursionError …): this one only
            logger.exception("extraction_crashed doc_id=%s uri=%s", event.doc_id, uri)
            _fail(target, event, "extract", f"extraction crashed: {type(error).__name__}: {error}")
            return
        fields = DocumentFields.from_event(event, title)
        fields = fields.model_copy(update={"uri": step.read_uri or fields.uri})
        target.chunks = {chunk.chunk_id: chunk for chunk in chunks}
        target.manifest = Manifest(
            doc_id=target.doc_id,
            revision=event.revision,
            fields=fields,
            content_sha256=content_sha256,
            pipeline_version=self._chunking.version,
            chunks=tuple(chunk.position for chunk in chunks),
            emitted_at=event.emitted_at,
        )
        target.outcomes.append(EventOutcome(event, "restored" if restoring else "indexed"))

    async def _read(self, event: ChangeEvent, uri: str) -> bytes:
        if event.text is not None:
            return event.text.encode()
        return await self._reader.read_document(uri, self._reader.scope_of(event))

    async def _with_assets(
        self, document: ExtractedDocument, event: ChangeEvent, uri: str
    ) -> ExtractedDocument:
        """Fetch referenced images (HTML/Markdown ``<img>``, CMS assets); skip those that
        cannot be had, with a warning — the document's text is still indexed."""
        images = list(document.image_parts)
        images.extend(
            ImagePart(
                data=b"",
                content_type=asset.content_type,
                reference=asset.uri,
                alt_text=asset.alt_text,
                caption=asset.caption,
                index=len(images) + number,
            )
            for number, asset in enumerate(event.assets)
        )
        resolved: list[ImagePart] = []
        warnings = list(document.warnings)
        for image in images:
            if image.data or image.reference is None:
                resolved.append(image)
                continue
            try:
                scope = self._reader.scope_of(event)
                data = await self._reader.read_image(image.reference, uri, scope)
            except Exception as error:
                warnings.append(f"image {image.reference} skipped: {error}")
                continue
            resolved.append(replace(image, data=data))
        for warning in warnings:
            logger.info("extraction_warning doc_id=%s %s", event.doc_id, warning)
        return replace(document, image_parts=tuple(resolved), warnings=tuple(warnings))

    # -- writing -----------------------------------------------------------------------

    async def _writes(
        self, targets: list[DocumentTarget], result: BatchResult
    ) -> list[DocumentWrite]:
        changed = [
            (target, target.manifest, planned_diff(target, target.manifest))
            for target in targets
            if target.manifest is not None and target.changed
        ]
        candidates = [position.chunk_id for _, _, diff in changed for position in diff.new]
        already_stored = await self._store.existing_chunk_ids(candidates)

        to_embed = {
            target.doc_id: [
                target.chunks[position.chunk_id]
                for position in diff.new
                if position.chunk_id not in already_stored
            ]
            for target, _, diff in changed
        }
        started = time.perf_counter()
        vectors = await self._embed([target for target, _, _ in changed], to_embed)
        result.embed_seconds = time.perf_counter() - started
        result.chunks_embedded += len(vectors)
        result.images_embedded += sum(
            1
            for chunks in to_embed.values()
            for c in chunks
            if c.image is not None and c.chunk_id in vectors
        )
        clip = self._encoders.clip
        plan = plan_writes(
            [plan for plan in changed if plan[0].changed],  # not those that failed to embed
            vectors,
            already_stored,
            ModelNames(self._encoders.text.name, clip.name if clip else None),
        )
        result.chunks_deleted += plan.counts.deleted
        result.chunks_reused += plan.counts.reused
        return plan.writes

    async def _embed(
        self, targets: list[DocumentTarget], to_embed: dict[str, list[Chunk]]
    ) -> dict[str, ChunkVectors]:
        """Vectors for the batch's new chunks in one go; if that raises, document by
        document, and a document whose chunks cannot be embedded fails alone (``encode``)."""
        everything = [chunk for chunks in to_embed.values() for chunk in chunks]
        try:
            return await asyncio.to_thread(embed_chunks, everything, self._encoders, self._settings)
        except TransientError:
            raise
        except Exception:
            logger.exception("embedding_crashed chunks=%d: retrying per document", len(everything))
        vectors: dict[str, ChunkVectors] = {}
        for target in targets:
            chunks = to_embed.get(target.doc_id, [])
            if not chunks:
                continue
            try:
                vectors.update(
                    await asyncio.to_thread(embed_chunks, chunks, self._encoders, self._settings)
                )
            except TransientError:
                raise
            except Exception as error:
                reason = f"embedding failed: {type(error).__name__}: {error}"
                logger.error("document_failed stage=encode doc_id=%s %s", target.doc_id, reason)
                target.fail("encode", reason)
        return vectors


def _fail(target: DocumentTarget, event: ChangeEvent, stage: Stage, reason: str) -> None:
    target.outcomes.append(EventOutcome(event, "failed", reason, stage))
    logger.warning(
        "document_failed stage=%s doc_id=%s uri=%s reason=%s",
        stage,
        event.doc_id,
        event.uri,
        reason,
    )


def _move_of_nothing(event: ChangeEvent, earlier: list[EventOutcome]) -> EventOutcome:
    """A move whose document has nothing indexed: its content failed earlier in the batch
    (the move fails with it, so both are dead-lettered and replayed together)."""
    failed = next((o for o in reversed(earlier) if o.status == "failed"), None)
    if failed is None:
        return EventOutcome(event, "failed", "moves a document that is not indexed", "extract")
    return EventOutcome(
        event,
        "failed",
        f"moves a document that failed earlier in the batch: {failed.reason}",
        failed.stage,
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _name_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


__all__ = ["BatchResult", "EventOutcome", "IndexingPipeline"]
