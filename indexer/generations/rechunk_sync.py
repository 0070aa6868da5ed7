"""Keeping a chunking group's documents level with the live group's, through the event
path (``indexer.generations.rechunk`` tells the whole story): publish every document, then
reconcile document by document, then check the generation's chunks against its manifests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch

from indexer.events import ChangeEvent, utc_now
from indexer.generations.copying import chunks_by_document, read_manifests
from indexer.generations.elastic_io import bulk, pages, read_by_id
from indexer.generations.registry import GenerationError, GenerationRegistry
from indexer.generations.republish import (
    Action,
    DocumentState,
    NotRepublishable,
    Pending,
    check_document,
    decide,
    delete_event,
    reads_inline,
    spans_of,
    text_from_chunks,
    upsert_event,
)
from indexer.manifest import Manifest
from indexer.store.mappings import LIVE_MANIFESTS

logger = logging.getLogger(__name__)

CHECK_ROUNDS = 5


class ChangePublisher(Protocol):
    """Where rebuilt change events go: the backfill lane of the change log."""

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        """Write the events (keyed by document) and return once they are durable."""

    async def pending(self) -> int:
        """How many of the events published so far the worker has not processed yet."""


@dataclass(frozen=True)
class RechunkOptions:
    page_size: int = 200
    grace_s: float = 10.0
    """How long a document may stay behind before it is published again."""
    poll_s: float = 2.0
    settle_s: float = 10.0
    """How long after its creation a generation waits before publishing: the worker
    learns generations every few seconds (``GenerationFanout``'s refresh)."""
    timeout_s: float = 3600.0
    """Most seconds reconciling may take before the command stops (run it again)."""
    max_attempts: int = 3


@dataclass
class SyncReport:
    """What a sync did to bring a group level with the live one."""

    documents: int = 0
    in_sync: int = 0
    upserts: int = 0
    deletes: int = 0
    chunks_deleted: int = 0
    manifests_reset: int = 0
    given_up: list[str] = field(default_factory=list)
    """Documents still out of sync after every attempt (their events fail in the worker:
    see its dead letters)."""


class GroupSync:
    """Brings the documents of ``target``'s chunking group level with ``source``'s (the
    live group), publishing events through ``publisher``."""

    def __init__(
        self,
        registry: GenerationRegistry,
        publisher: ChangePublisher,
        *,
        source_generation: str,
        source_documents: str,
        target: str,
        target_documents: str,
        options: RechunkOptions,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._client = registry.client
        self._publisher = publisher
        self._source = source_generation
        self._source_documents = source_documents
        self._target = target
        self._target_documents = target_documents
        self._options = options
        self._clock = clock
        self._pending = Pending(options.grace_s, options.max_attempts)
        self._salt = f"rechunk:{target}:{int(time.time())}"
        self.report = SyncReport()

    async def publish_all(self, after: str | None, on_page: Callable[[str, int], Any]) -> None:
        """Upserts for the source group's documents after ``after`` (``doc_id`` order);
        ``on_page(last doc id, count)`` is awaited after each page."""
        async for hits in pages(
            self._client,
            self._source_documents,
            "doc_id",
            after=after,
            size=self._options.page_size,
            query=LIVE_MANIFESTS,
        ):
            doc_ids = [str(hit["_id"]) for hit in hits]
            manifests = await read_manifests(self._client, self._source_documents, doc_ids)
            events = await self._upserts([m for m in manifests.values() if not m.deleted])
            await self._publisher.publish(events)
            self.report.upserts += len(events)
            await on_page(doc_ids[-1], len(doc_ids))

    async def reconcile(self, on_round: Callable[[int, int], Any]) -> None:
        """Publish what is missing until every document is in sync (or given up);
        ``on_round(in sync, live documents)`` is awaited after each round."""
        deadline = self._clock() + self._options.timeout_s
        while True:
            source = await self._states(self._source_documents)
            target = await self._states(self._target_documents)
            live = [doc_id for doc_id, state in source.items() if not state.deleted]
            decisions = {
                doc_id: decide(source.get(doc_id), target.get(doc_id))
                for doc_id in set(source) | set(target)
            }
            in_sync = sum(1 for d in live if decisions[d] is Action.IN_SYNC)
            self.report.documents, self.report.in_sync = len(live), in_sync
            await on_round(in_sync, len(live))
            now = self._clock()
            out = {}
            for doc_id, action in decisions.items():
                if action is Action.IN_SYNC:
                    self._pending.settled(doc_id)
                else:
                    out[doc_id] = action
            given_up = set(self._pending.given_up())
            if not set(out) - given_up:
                self.report.given_up = sorted(given_up)
                return
            if now > deadline:
                raise GenerationError(
                    f"{self._target}: {len(out)} documents still out of sync after "
                    f"{self._options.timeout_s:.0f} s (is the worker running?); run the "
                    "command again to carry on"
                )
            if await self._publisher.pending() == 0:
                due = {
                    d: a
                    for d, a in out.items()
                    if a is not Action.WAIT and self._pending.due(d, now)
                }
                await self._publish(due, target)
                for doc_id in due:
                    self._pending.mark_published(doc_id, now)
            await asyncio.sleep(self._options.poll_s)

    async def settle(self, on_round: Callable[[int, int], Any]) -> None:
        """Reconcile, then check the chunks, until a check finds nothing to do (at most
        ``CHECK_ROUNDS`` times)."""
        for _ in range(CHECK_ROUNDS):
            await self.reconcile(on_round)
            if not await self.check_chunks():
                return

    async def check_chunks(self) -> bool:
        """Make the target generation hold exactly its manifests' chunks: extra ones are
        deleted, a document missing some has its manifest reset (reconciling publishes
        it again); documents being written meanwhile are left alone
        (``republish.check_document``). Returns whether to reconcile and check again
        (something was reset, or was being written)."""
        client = self._client
        await client.indices.refresh(index=[self._target, self._target_documents])
        held_docs = await _documents_with_chunks(client, self._target)
        known: list[str] = []
        async for hits in pages(client, self._target_documents, "doc_id", size=1000):
            known.extend(str(hit["_id"]) for hit in hits)
        doc_ids = sorted(set(known) | held_docs)
        reset: list[str] = []
        changing = 0
        size = self._options.page_size
        for start in range(0, len(doc_ids), size):
            batch = doc_ids[start : start + size]
            before = await read_manifests(client, self._target_documents, batch)
            held = await chunks_by_document(client, self._target, batch)
            after = await read_manifests(client, self._target_documents, batch)
            live = await read_by_id(client, self._source_documents, batch, vectors=False)
            extra: list[str] = []
            reset_here: list[str] = []
            for doc_id in batch:
                state = DocumentState.from_source(live[doc_id]) if doc_id in live else None
                check = check_document(
                    before.get(doc_id), after.get(doc_id), held.get(doc_id, {}), state
                )
                extra.extend(check.delete)
                changing += check.changing
                if check.reset:
                    reset_here.append(doc_id)
            actions = [{"_op_type": "delete", "_index": self._target, "_id": c} for c in extra]
            actions.extend(
                {"_op_type": "delete", "_index": self._target_documents, "_id": d}
                for d in reset_here
            )
            await bulk(client, actions, refresh="true")
            self.report.chunks_deleted += len(extra)
            reset.extend(reset_here)
        self.report.manifests_reset += len(reset)
        if reset:
            logger.warning(
                "generation_chunks_missing target=%s documents=%d: publishing them again",
                self._target,
                len(reset),
            )
        return bool(reset) or changing > 0

    async def _states(self, index: str) -> dict[str, DocumentState]:
        await self._client.indices.refresh(index=index)
        states: dict[str, DocumentState] = {}
        async for hits in pages(
            self._client, index, "doc_id", size=5000, source=["revision", "deleted"]
        ):
            for hit in hits:
                states[str(hit["_id"])] = DocumentState.from_source(hit["_source"])
        return states

    async def _publish(
        self, due: Mapping[str, Action], target: Mapping[str, DocumentState]
    ) -> None:
        if not due:
            return
        ids = sorted(due)
        source = await read_manifests(self._client, self._source_documents, ids)
        candidate = await read_manifests(self._client, self._target_documents, ids)
        upserts = [source[d] for d in ids if due[d] is Action.UPSERT and d in source]
        events = await self._upserts(upserts)
        emitted = utc_now()
        for doc_id in ids:
            try:
                if due[doc_id] is Action.DELETE and doc_id in source:
                    revision = source[doc_id].revision
                    events.append(
                        delete_event(source[doc_id], revision, emitted_at=emitted, salt=self._salt)
                    )
                elif due[doc_id] is Action.DELETE_EXTRA and doc_id in candidate:
                    revision = target[doc_id].revision
                    events.append(
                        delete_event(
                            candidate[doc_id], revision, emitted_at=emitted, salt=self._salt
                        )
                    )
            except NotRepublishable as error:
                logger.warning("rechunk_unpublishable %s", error)
        await self._publisher.publish(events)
        deletes = sum(1 for e in events if e.op.value == "delete")
        self.report.deletes += deletes
        self.report.upserts += len(events) - deletes
        logger.info(
            "rechunk_republished target=%s upserts=%d deletes=%d",
            self._target,
            len(events) - deletes,
            deletes,
        )

    async def _upserts(self, manifests: Sequence[Manifest]) -> list[ChangeEvent]:
        """Upserts for these (not deleted) manifests; inline documents get their text
        back from the source generation's stored chunks."""
        inline = [m.doc_id for m in manifests if reads_inline(m)]
        stored = await chunks_by_document(self._client, self._source, inline) if inline else {}
        emitted = utc_now()
        events = []
        for manifest in manifests:
            text = None
            if manifest.doc_id in stored:
                text = text_from_chunks(spans_of(stored[manifest.doc_id].values())) or None
                if text is None:
                    logger.warning(
                        "rechunk_no_text doc_id=%s: its stored chunks carry no text",
                        manifest.doc_id,
                    )
                    continue
            try:
                events.append(
                    upsert_event(manifest, emitted_at=emitted, salt=self._salt, text=text)
                )
            except NotRepublishable as error:
                logger.warning("rechunk_unpublishable %s", error)
        return events


async def _documents_with_chunks(client: AsyncElasticsearch, index: str) -> set[str]:
    """Every doc id that has a chunk in ``index`` (composite aggregation, paged)."""
    found: set[str] = set()
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {
            "size": 5000,
            "sources": [{"d": {"terms": {"field": "doc_id"}}}],
        }
        if after is not None:
            composite["after"] = after
        response = await client.search(index=index, size=0, aggs={"docs": {"composite": composite}})
        aggregation = response["aggregations"]["docs"]
        found.update(str(bucket["key"]["d"]) for bucket in aggregation["buckets"])
        after = aggregation.get("after_key")
        if after is None or not aggregation["buckets"]:
            return found
