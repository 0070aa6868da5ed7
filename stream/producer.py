"""``ChangeProducer``: how the watcher, the CMS ingress and any Python service write
change events and dead letters to Kafka.

Every send names its lane (``stream.lanes``): live changes go to the live topic, bulk
work to the backfill topic; both are keyed by ``doc_id``. Idempotent producer with
``acks=all``: a completed send means the record is durable and written once. Sends
are batched by the client (``linger_ms``); ``send_many`` pipelines a batch and waits for
all acknowledgements. Use it as an async context manager so that a
shutdown flushes what is in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from indexer.dead_letters import DeadLetter
from indexer.events import ChangeEvent
from stream.dead_letters.record import dead_letter_record
from stream.lanes import Lane
from stream.settings import StreamSettings

logger = logging.getLogger(__name__)

MAX_RECORD_BYTES = 4 * 1024 * 1024
"""Matches the topics' ``max.message.bytes``: an event with 1 MB of inline text, or its
dead letter (base64 original), fits."""


class ProducerUnavailable(RuntimeError):
    """Kafka did not acknowledge a write (a transient failure: retry later)."""


class ChangeProducer:
    def __init__(
        self,
        bootstrap_servers: str,
        changes_topic: str,
        dead_letter_topic: str,
        *,
        backfill_topic: str | None = None,
        linger_ms: int = 5,
        request_timeout_ms: int = 30_000,
    ) -> None:
        """``backfill_topic``: where :data:`Lane.BACKFILL` sends go; ``None`` sends both
        lanes to ``changes_topic`` (a setup with one change topic)."""
        self.changes_topic = changes_topic
        self.backfill_topic = backfill_topic or changes_topic
        self.dead_letter_topic = dead_letter_topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            request_timeout_ms=request_timeout_ms,
            client_id="mmrag-change-producer",
            max_request_size=MAX_RECORD_BYTES,
        )
        self._started = False
        self._sent_ends: dict[tuple[str, int], int] = {}

    @classmethod
    def from_settings(cls, settings: StreamSettings, *, linger_ms: int = 5) -> ChangeProducer:
        """A producer for the configured live, backfill and dead-letter topics."""
        return cls(
            settings.kafka_bootstrap,
            settings.changes_topic,
            settings.dead_letter_topic,
            backfill_topic=settings.backfill_topic,
            linger_ms=linger_ms,
        )

    def topic_for(self, lane: Lane) -> str:
        return self.backfill_topic if lane is Lane.BACKFILL else self.changes_topic

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as error:
            raise ProducerUnavailable(f"cannot reach Kafka: {error}") from error
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._producer.flush()
            await self._producer.stop()
            self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def send(self, event: ChangeEvent, *, lane: Lane = Lane.LIVE) -> None:
        """Write one event to ``lane``'s topic and wait until Kafka has acknowledged it."""
        await self.send_many([event], lane=lane)

    async def send_many(self, events: Iterable[ChangeEvent], *, lane: Lane = Lane.LIVE) -> None:
        """Write events in order (per key) to ``lane``'s topic and wait until all are
        acknowledged."""
        topic = self.topic_for(lane)
        try:
            pending = [
                await self._producer.send(
                    topic,
                    key=event.key,
                    value=event.to_json_bytes(),
                    headers=[("schema", b"mmrag.change/1"), ("op", event.op.value.encode())],
                )
                for event in events
            ]
            acknowledged = await asyncio.gather(*pending)
        except KafkaError as error:
            raise ProducerUnavailable(f"Kafka did not acknowledge the write: {error}") from error
        for metadata in acknowledged:
            where = (metadata.topic, metadata.partition)
            self._sent_ends[where] = max(self._sent_ends.get(where, 0), metadata.offset + 1)

    @property
    def sent_ends(self) -> dict[tuple[str, int], int]:
        """Per (topic, partition): the offset just past the last change event this
        producer had acknowledged. Once a consumer group has committed that far, the
        worker has processed everything this producer sent (``mmrag watch --wait``)."""
        return dict(self._sent_ends)

    async def send_dead_letter(self, letter: DeadLetter) -> None:
        """Write a dead letter (cut down to the record limit if need be) and wait for the
        acknowledgement."""
        record = dead_letter_record(letter, MAX_RECORD_BYTES)
        try:
            await self._producer.send_and_wait(
                self.dead_letter_topic,
                key=record.key,
                value=record.value,
                headers=record.headers,
            )
        except KafkaError as error:
            raise ProducerUnavailable(f"Kafka did not acknowledge the write: {error}") from error
        logger.warning(
            "dead_letter stage=%s doc_id=%s uri=%s reason=%s",
            letter.stage,
            letter.doc_id,
            letter.uri,
            letter.reason,
        )
