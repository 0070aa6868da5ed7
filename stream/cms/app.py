"""The CMS ingress: an HTTP endpoint per configured source that turns authenticated
webhooks into change events on Kafka.

``POST /webhooks/{source_name}``, checked in this order:

====  ==========================================================================
404   no such source configured
413   body over ``max_body_bytes`` (Content-Length first, then the bytes read)
401   not authenticated by the source's scheme (:mod:`stream.cms.authentication`:
      Standard Webhooks, Contentful request verification, Strapi token, or the
      legacy ``X-Mmrag-Signature``), or its signed timestamp is outside the
      5-minute window: nothing is produced, not even a dead letter (an
      unauthenticated sender must not be able to fill the DLQ)
422   not JSON, text that is not Unicode (a lone surrogate), or not mappable
      (:class:`PayloadError`): ``{"detail": reason}``, and the body goes to the
      dead-letter topic (stage ``ingress``)
503   Kafka did not acknowledge (``Retry-After``): the sender should redeliver
202   ``{"accepted": [event_ids], "duplicates": [event_ids]}``, answered only after
      Kafka acknowledged every accepted event (acks=all)
====  ==========================================================================

An event id accepted recently is listed under ``duplicates`` and not produced again; a
message id (``webhook-id``, Contentful's signature) accepted recently is answered 202
without mapping it again. Bodies are parsed and mapped in a small thread pool, so a large
body never blocks the event loop. The producer and the pool are created in the app's
lifespan; the producer is flushed on shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from indexer.dead_letters import DeadLetter
from indexer.events import ChangeEvent, utc_now
from stream.cms.adapters import to_change_events
from stream.cms.authentication import AuthenticationFailed, SignedRequest, authenticate
from stream.cms.payloads import PayloadError
from stream.cms.recent import RecentEventIds
from stream.cms.revisions import RevisionSequencer
from stream.cms.settings import CmsSettings, CmsSourceConfig
from stream.cms.text import refuse_unencodable_text
from stream.producer import ChangeProducer, ProducerUnavailable
from stream.settings import StreamSettings

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5
_PLAIN_NAME = re.compile(r"[\w.-]+")
MAX_DEAD_LETTER_ORIGINAL_BYTES = 2_900_000
"""Bodies above this are dead-lettered without their bytes: base64 grows them by a third,
and records are capped at 4 MiB (``stream.producer.MAX_RECORD_BYTES``)."""


class WebhookProducer(Protocol):
    """Where accepted events and dead letters go (a :class:`ChangeProducer`). Both sends
    return only once Kafka has acknowledged, and raise ``ProducerUnavailable`` if not."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, event: ChangeEvent) -> None: ...

    async def send_dead_letter(self, letter: DeadLetter) -> None: ...


ProducerFactory = Callable[[StreamSettings], WebhookProducer]


def default_producer_factory(stream_settings: StreamSettings) -> WebhookProducer:
    """A Kafka :class:`ChangeProducer` for the configured topics."""
    return ChangeProducer(
        stream_settings.kafka_bootstrap,
        stream_settings.changes_topic,
        stream_settings.dead_letter_topic,
    )


@dataclass
class Outcome:
    """How one request ended: the HTTP answer and what the log line says about it."""

    status: int
    body: dict[str, Any]
    reason: str = ""
    events: list[ChangeEvent] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""


class WebhookIngress:
    """The endpoint's logic, with the producer and the mapping pool set while the app
    runs."""

    def __init__(self, settings: CmsSettings) -> None:
        self.settings = settings
        self.producer: WebhookProducer | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.recent = RecentEventIds(settings.idempotency_cache_size)
        self.messages = RecentEventIds(settings.idempotency_cache_size)
        self.revisions = RevisionSequencer(settings.idempotency_cache_size)

    async def receive(self, source_name: str, request: Request) -> Outcome:
        config = self.settings.sources.get(source_name)
        if config is None:
            return _error(404, f"unknown source {source_name!r}")
        try:
            body = await read_body(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            return _error(413, f"body is over {self.settings.max_body_bytes} bytes")
        signed = SignedRequest(
            method=request.method,
            path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
        )
        secret = config.secret.get_secret_value()
        try:
            message_id = authenticate(config.auth_scheme, secret, signed, datetime.now(UTC))
        except AuthenticationFailed as error:
            return _error(401, str(error))
        message_key = f"{source_name}\x1f{message_id}" if message_id else None
        if message_key is not None and self.messages.seen(message_key):
            body_text = {"accepted": [], "duplicates": [], "detail": "message already accepted"}
            return Outcome(202, body_text, reason=f"message {message_id} already accepted")
        mapping = partial(_map, source_name, config, body, dict(signed.headers), self.revisions)
        try:
            events = await asyncio.get_running_loop().run_in_executor(self.executor, mapping)
        except PayloadError as error:
            return await self._reject(source_name, body, str(error))
        outcome = await self._produce(events)
        if outcome.status == 202 and message_key is not None:
            self.messages.remember(message_key)
        return outcome

    async def _reject(self, source_name: str, body: bytes, reason: str) -> Outcome:
        """422 to an authenticated sender, with the body kept in the dead-letter topic."""
        kept = len(body) <= MAX_DEAD_LETTER_ORIGINAL_BYTES
        letter = DeadLetter(
            stage="ingress",
            reason=reason if kept else f"{reason} (body of {len(body)} bytes not kept)",
            source=f"cms:{source_name}",
            original_base64=DeadLetter.encode_original(body) if kept else None,
        )
        try:
            await self._producer().send_dead_letter(letter)
        except ProducerUnavailable as error:
            return _unavailable(f"{reason}; dead letter not written: {error}")
        return _error(422, reason)

    async def _produce(self, events: list[ChangeEvent]) -> Outcome:
        """Send each new event and wait for Kafka; skip ids accepted recently."""
        accepted: list[str] = []
        duplicates: list[str] = []
        for event in events:
            if self.recent.seen(event.event_id) or event.event_id in accepted:
                duplicates.append(event.event_id)
                continue
            try:
                await self._producer().send(event)
            except ProducerUnavailable as error:
                return _unavailable(str(error), events)
            self.recent.remember(event.event_id)
            accepted.append(event.event_id)
        return Outcome(202, {"accepted": accepted, "duplicates": duplicates}, events=events)

    def _producer(self) -> WebhookProducer:
        if self.producer is None:
            raise ProducerUnavailable("the producer is not started")
        return self.producer


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes (from
    Content-Length before reading, then while reading), so an oversized body is never
    held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _map(
    source_name: str,
    config: CmsSourceConfig,
    body: bytes,
    headers: dict[str, str],
    revisions: RevisionSequencer,
) -> list[ChangeEvent]:
    """Parse and map one body (CPU-bound: run in the mapping pool)."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"the body is not valid JSON: {error}") from error
    except RecursionError as error:
        raise PayloadError("the body is nested too deeply") from error
    refuse_unencodable_text(payload)
    return to_change_events(
        config.kind,
        source_name,
        payload,
        headers,
        utc_now(),
        base_url=config.base_url,
        locale=config.locale,
        acl=config.acl,
        revisions=revisions,
    )


def _error(status: int, reason: str) -> Outcome:
    return Outcome(status, {"detail": reason}, reason=reason)


def _unavailable(reason: str, events: list[ChangeEvent] | None = None) -> Outcome:
    return Outcome(
        503,
        {"detail": "Kafka is unavailable; retry later"},
        reason=reason,
        events=events or [],
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _log(source_name: str, outcome: Outcome, started: float) -> None:
    """One key=value line per request: source, status, counts, doc ids, reason, time."""
    doc_ids = ",".join(dict.fromkeys(event.doc_id for event in outcome.events[:10]))
    logger.log(
        logging.INFO if outcome.status < 400 else logging.WARNING,
        "cms_webhook source=%s status=%d events=%d accepted=%d duplicates=%d doc_ids=%s "
        "duration_ms=%.1f reason=%s",
        source_name if _PLAIN_NAME.fullmatch(source_name) else json.dumps(source_name),
        outcome.status,
        len(outcome.events),
        len(outcome.body.get("accepted", [])),
        len(outcome.body.get("duplicates", [])),
        doc_ids or "-",
        (time.perf_counter() - started) * 1000,
        json.dumps(outcome.reason) if outcome.reason else "-",
    )


def create_app(
    settings: CmsSettings,
    stream_settings: StreamSettings,
    producer_factory: ProducerFactory = default_producer_factory,
) -> FastAPI:
    """The ingress app. The producer is made by ``producer_factory`` and started when the
    app starts (a Kafka that cannot be reached then fails the start), stopped and
    flushed when it stops."""
    ingress = WebhookIngress(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = producer_factory(stream_settings)
        await producer.start()
        ingress.producer = producer
        ingress.executor = ThreadPoolExecutor(
            max_workers=settings.mapping_threads, thread_name_prefix="cms-mapping"
        )
        try:
            yield
        finally:
            ingress.executor.shutdown(wait=True, cancel_futures=True)
            ingress.producer = None
            await producer.stop()

    app = FastAPI(title="mmrag CMS ingress", lifespan=lifespan)

    @app.post("/webhooks/{source_name}", status_code=202)
    async def receive_webhook(source_name: str, request: Request) -> JSONResponse:
        """Receive one authenticated webhook from the source ``source_name``."""
        started = time.perf_counter()
        outcome = await ingress.receive(source_name, request)
        _log(source_name, outcome, started)
        return outcome.response()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
