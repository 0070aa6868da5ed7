"""``ChangeProducer``: how the watcher, the CMS ingress and any Python service write
change events and dead letters to Kafka.

Idempotent producer with ``acks=all``: a completed send means the record is durable and
written once. Sends are batched by the client (``linger_ms``); ``send_many`` pipelines a
batch and waits for all acknowledgements. Use it as an async context manager so that a
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
        linger_ms: int = 5,
        request_timeout_ms: int = 30_000,
    ) -> None:
        self.changes_topic = changes_topic
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

    async def send(self, event: ChangeEvent) -> None:
        """Write one event and wait until Kafka has acknowledged it."""
        await self.send_many([event])

    async def send_many(self, events: Iterable[ChangeEvent]) -> None:
        """Write events in order (per key) and wait until all are acknowledged."""
        try:
            pending = [
                await self._producer.send(
                    self.changes_topic,
                    key=event.key,
                    value=event.to_json_bytes(),
                    headers=[("schema", b"mmrag.change/1"), ("op", event.op.value.encode())],
                )
                for event in events
            ]
            await asyncio.gather(*pending)
        except KafkaError as error:
            raise ProducerUnavailable(f"Kafka did not acknowledge the write: {error}") from error

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
