"""Handling one micro-batch of raw records: decode, index, dead-letter, remember.

Independent of Faust (the agent hands it plain records), so it is tested on its own.
Invalid records and failed documents go to the dead-letter topic with the reason, the
stage and the original bytes; the rest of the batch goes on. A document fails alone: the
pipeline isolates bad content, and should processing the batch still raise (a bug of
ours), each document is processed on its own and only those that raise again are
dead-lettered (``internal``). Backend outages are retried with backoff; when they outlast
the retries the worker exits *without* acknowledging the batch, so Kafka redelivers it to
whoever takes over — nothing is lost, nothing is dead-lettered for an outage, and nothing
stalls silently.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from indexer.dead_letters import DeadLetter, Stage
from indexer.errors import TransientError
from indexer.events import ChangeEvent, InvalidEvent, decode_change_event, utc_now
from indexer.manifest import Manifest
from indexer.outcomes import EventOutcome
from indexer.pipeline import BatchResult
from indexer.ports import ChangeIndexer
from stream.worker.document_locks import DocumentLocks
from stream.worker.metrics import WorkerMetrics
from stream.worker.records import RawRecord

logger = logging.getLogger(__name__)


DeadLetterSink = Callable[[DeadLetter], Awaitable[None]]
"""Writes a dead letter and returns once Kafka acknowledged it."""


def exit_without_ack(code: int) -> None:  # pragma: no cover - ends the process
    logging.shutdown()
    os._exit(code)


class ChangeBatchProcessor:
    def __init__(
        self,
        pipeline: ChangeIndexer,
        dead_letters: DeadLetterSink,
        metrics: WorkerMetrics,
        manifests: MutableMapping[str, Any] | None = None,
        *,
        max_transient_retries: int = 8,
        give_up: Callable[[int], None] = exit_without_ack,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        locks: DocumentLocks | None = None,
    ) -> None:
        """``locks``: shared by the lanes' processors, so that a document is processed by
        one lane at a time (``document_locks``)."""
        self._pipeline = pipeline
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._manifests = manifests
        self._max_retries = max_transient_retries
        self._give_up = give_up
        self._sleep = sleep
        self._locks = locks or DocumentLocks()

    async def close(self) -> None:
        await self._pipeline.close()

    async def handle(self, records: Sequence[RawRecord]) -> BatchResult | None:
        self._metrics.batch_size.observe(len(records))
        events: list[ChangeEvent] = []
        originals: dict[str, RawRecord] = {}
        for record in records:
            if record.value is None:
                self._metrics.events.labels("tombstone").inc()
                continue  # a compaction tombstone: nothing to index
            try:
                event = decode_change_event(record.value)
            except InvalidEvent as error:
                await self._dead_letter(record, "decode", error.reason)
                self._metrics.events.labels("invalid").inc()
                continue
            events.append(event)
            originals[event.event_id] = record
        if not events:
            return None
        async with self._locks.hold(event.doc_id for event in events):
            result = await self._index(events, originals)
        self._observe(result)
        return result

    async def _index(
        self, events: list[ChangeEvent], originals: dict[str, RawRecord]
    ) -> BatchResult:
        """Index, dead-letter what failed, remember the manifests (the documents' locks
        are held: the other lane waits for them)."""
        try:
            result = await self._process_with_retries(events)
        except Exception:  # a bug of ours: find the documents it hits, keep the others
            logger.exception(
                "batch_crashed events=%d: processing document by document", len(events)
            )
            result = await self._process_each_document(events)
        for outcome in result.outcomes:
            self._metrics.events.labels(outcome.status).inc()
            if outcome.status == "failed":
                record = originals[outcome.event.event_id]
                await self._dead_letter(
                    record,
                    outcome.stage or "extract",
                    outcome.reason or "failed",
                    event=outcome.event,
                )
        self._remember(result)
        return result

    async def _process_each_document(self, events: list[ChangeEvent]) -> BatchResult:
        grouped: dict[str, list[ChangeEvent]] = {}
        for event in events:
            grouped.setdefault(event.doc_id, []).append(event)
        result = BatchResult()
        for doc_id, doc_events in grouped.items():
            try:
                result.add(await self._process_with_retries(doc_events))
            except Exception as error:
                logger.exception("document_crashed doc_id=%s", doc_id)
                reason = f"internal error: {type(error).__name__}: {error}"
                result.outcomes.extend(
                    EventOutcome(event, "failed", reason, "internal") for event in doc_events
                )
        return result

    async def _process_with_retries(self, events: list[ChangeEvent]) -> BatchResult:
        cached = self._cached_manifests(events)
        delay = 1.0
        for attempt in range(self._max_retries + 1):
            try:
                return await self._pipeline.process(events, cached)
            except TransientError as error:
                self._metrics.backend_retries.inc()
                logger.error(
                    "backend_unavailable attempt=%d/%d retry_in=%.0fs reason=%s",
                    attempt + 1,
                    self._max_retries,
                    delay,
                    error.reason,
                )
                if attempt == self._max_retries:
                    break
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)
        logger.critical("giving up on the batch without acknowledging it: Kafka will redeliver")
        self._give_up(70)
        raise RuntimeError("the worker should have exited")  # pragma: no cover

    def _cached_manifests(self, events: list[ChangeEvent]) -> dict[str, Manifest]:
        if self._manifests is None:
            return {}
        cached = {}
        for doc_id in {event.doc_id for event in events}:
            stored = self._manifests.get(doc_id)
            if stored is not None:
                cached[doc_id] = Manifest.model_validate(stored)
        return cached

    def _remember(self, result: BatchResult) -> None:
        if self._manifests is None:
            return
        for doc_id, manifest in result.manifests.items():
            self._manifests[doc_id] = manifest.model_dump(mode="json")

    def _observe(self, result: BatchResult) -> None:
        metrics = self._metrics
        metrics.chunks_embedded.inc(result.chunks_embedded)
        metrics.chunks_reused.inc(result.chunks_reused)
        metrics.chunks_deleted.inc(result.chunks_deleted)
        metrics.images_embedded.inc(result.images_embedded)
        metrics.extract_seconds.observe(result.extract_seconds)
        metrics.embed_seconds.observe(result.embed_seconds)
        metrics.bulk_seconds.observe(result.store_seconds)
        now = utc_now()
        for outcome in result.outcomes:
            if outcome.status in ("indexed", "restored", "unchanged", "deleted", "moved"):
                latency = (now - outcome.event.emitted_at).total_seconds()
                metrics.change_to_indexed.observe(max(latency, 0.0))
                logger.info(
                    "event outcome=%s doc_id=%s revision=%d latency_ms=%.0f",
                    outcome.status,
                    outcome.event.doc_id,
                    outcome.event.revision,
                    latency * 1000,
                )

    async def _dead_letter(
        self, record: RawRecord, stage: Stage, reason: str, event: ChangeEvent | None = None
    ) -> None:
        letter = DeadLetter(
            stage=stage,
            reason=reason,
            source=event.source if event else None,
            doc_id=event.doc_id if event else None,
            uri=event.uri if event else None,
            original_base64=DeadLetter.encode_original(record.value),
            original_topic=record.topic,
            original_partition=record.partition,
            original_offset=record.offset,
            original_key=record.key.decode(errors="replace") if record.key else None,
        )
        await self._dead_letters(letter)
        self._metrics.dead_letters.labels(stage).inc()
        logger.warning(
            "dead_letter stage=%s topic=%s partition=%d offset=%d reason=%s",
            stage,
            record.topic,
            record.partition,
            record.offset,
            reason,
        )
