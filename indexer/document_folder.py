"""One document's events of a batch folded into the change they make to it.

``indexer.folding`` decides what each event does (pure); this applies the steps in order
to a running manifest: a delete marks it deleted, a move changes its uri, content is read
and compared with what is indexed — the same bytes with the same chunking and every chunk
still stored is ``unchanged`` (only the revision and fields advance), the same bytes with
chunks gone missing from the index are ``restored``, anything else is extracted and
chunked again (``indexed``). A step that fails fails alone: earlier steps of the batch
still apply (a delete followed by an unreadable upsert deletes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from indexer.chunks import Chunk
from indexer.content import DocumentContent, Extracted, Unreadable, content_sha256
from indexer.events import ChangeEvent
from indexer.folding import EventStep, fold_events
from indexer.manifest import DocumentFields, Manifest
from indexer.outcomes import DocumentChange, EventOutcome, FoldedDocument
from indexer.ports import ChunkStore
from indexer.source_retry import BatchSources

logger = logging.getLogger(__name__)


@dataclass
class _Draft:
    """The document as the steps so far left it (private to one fold)."""

    doc_id: str
    start: Manifest | None
    manifest: Manifest | None
    chunks: dict[str, Chunk] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()
    outcomes: list[EventOutcome] = field(default_factory=list)

    def fail(self, event: ChangeEvent, failure: Unreadable) -> None:
        self.outcomes.append(EventOutcome.failure(event, failure.stage, failure.reason))
        logger.warning(
            "document_failed stage=%s doc_id=%s uri=%s reason=%s",
            failure.stage,
            event.doc_id,
            event.uri,
            failure.reason,
        )

    def folded(self) -> FoldedDocument:
        change = None
        if self.manifest is not None and self.manifest is not self.start:
            change = DocumentChange(
                self.doc_id, self.start, self.manifest, dict(self.chunks), self.missing
            )
        return FoldedDocument(self.doc_id, tuple(self.outcomes), change)


class DocumentFolder:
    def __init__(self, content: DocumentContent, store: ChunkStore, pipeline_version: str):
        self._content = content
        self._store = store
        self._pipeline_version = pipeline_version

    async def fold(
        self,
        doc_id: str,
        events: list[ChangeEvent],
        manifest: Manifest | None,
        sources: BatchSources,
    ) -> FoldedDocument:
        draft = _Draft(doc_id, start=manifest, manifest=manifest)
        for step in fold_events(events, manifest):
            event = step.event
            if step.action == "stale" or step.action == "superseded":
                draft.outcomes.append(EventOutcome(event, step.action))
            elif step.action == "delete":
                current = draft.manifest
                draft.manifest = Manifest(
                    doc_id=doc_id,
                    revision=event.revision,
                    deleted=True,
                    fields=current.fields if current else DocumentFields.from_event(event),
                    emitted_at=event.emitted_at,
                )
                draft.chunks.clear()
                draft.outcomes.append(EventOutcome(event, "deleted"))
            elif step.action == "move":
                _move(draft, event)
            else:
                await self._content_step(draft, step, sources)
        return draft.folded()

    async def _content_step(self, draft: _Draft, step: EventStep, sources: BatchSources) -> None:
        event, uri, current = step.event, step.uri, draft.manifest
        data = await self._content.read(event, uri, sources)
        if isinstance(data, Unreadable):
            if data.superseded:
                draft.outcomes.append(EventOutcome(event, "superseded", data.reason))
            else:
                draft.fail(event, data)
            return
        sha256 = content_sha256(data)
        restoring = False
        if (
            current is not None
            and not current.deleted
            and current.content_sha256 == sha256
            and current.pipeline_version == self._pipeline_version
        ):
            stored = await self._store.existing_chunk_ids(current.chunk_ids)
            draft.missing = frozenset(current.chunk_ids) - stored
            restoring = bool(draft.missing)
            if not restoring:
                title = current.fields.title if current.fields else None
                draft.manifest = current.advanced(event, _fields(event, uri, title))
                draft.outcomes.append(EventOutcome(event, "unchanged"))
                return
            logger.warning(
                "chunks_missing doc_id=%s missing=%d of=%d: writing them again",
                draft.doc_id,
                len(draft.missing),
                len(current.chunks),
            )
        extracted = await self._content.extract(event, uri, data)
        if isinstance(extracted, Unreadable):
            draft.fail(event, extracted)
            return
        draft.chunks = {chunk.chunk_id: chunk for chunk in extracted.chunks}
        draft.manifest = _indexed_manifest(event, uri, sha256, self._pipeline_version, extracted)
        draft.outcomes.append(EventOutcome(event, "restored" if restoring else "indexed"))


def _move(draft: _Draft, event: ChangeEvent) -> None:
    current = draft.manifest
    if current is None or current.fields is None:
        draft.outcomes.append(_move_of_nothing(event, draft.outcomes))
        return
    fields = current.fields.model_copy(update={"uri": event.new_uri or event.uri})
    draft.manifest = current.advanced(event, fields)
    draft.outcomes.append(EventOutcome(event, "moved"))


def _move_of_nothing(event: ChangeEvent, earlier: list[EventOutcome]) -> EventOutcome:
    """A move whose document has nothing indexed: its content failed earlier in the batch
    (the move fails with it, so both are dead-lettered and replayed together)."""
    for outcome in reversed(earlier):
        if outcome.stage is not None:
            reason = f"moves a document that failed earlier in the batch: {outcome.reason}"
            return EventOutcome.failure(event, outcome.stage, reason)
    return EventOutcome.failure(event, "extract", "moves a document that is not indexed")


def _fields(event: ChangeEvent, uri: str, title: str | None) -> DocumentFields:
    """The event's document fields, read at ``uri`` (where the batch leaves it)."""
    return DocumentFields.from_event(event, title).model_copy(update={"uri": uri})


def _indexed_manifest(
    event: ChangeEvent, uri: str, sha256: str, pipeline_version: str, extracted: Extracted
) -> Manifest:
    return Manifest(
        doc_id=event.doc_id,
        revision=event.revision,
        fields=_fields(event, uri, extracted.title),
        content_sha256=sha256,
        pipeline_version=pipeline_version,
        chunks=tuple(chunk.position for chunk in extracted.chunks),
        emitted_at=event.emitted_at,
    )
