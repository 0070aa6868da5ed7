"""The CMS ingress over HTTP (stream.cms.app), with an in-memory recording producer in
place of Kafka: these tests are about the HTTP logic (status codes, signatures, dead
letters, duplicates), not about Kafka, which tests/integration covers."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from indexer.dead_letters import DeadLetter
from indexer.events import ChangeEvent, Operation
from stream.cms import (
    CmsSettings,
    CmsSourceConfig,
    contentful_headers,
    create_app,
    standard_webhook_headers,
)
from stream.cms.adapters import CmsKind
from stream.cms.app import default_producer_factory
from stream.producer import ChangeProducer, ProducerUnavailable
from stream.settings import StreamSettings
from tests.unit.cms_payloads import load_bytes, load_payload

SECRET = "test-secret-0123456789"
MAX_BODY = 50_000


class RecordingProducer:
    """Records what would be written to Kafka; can be told to fail like Kafka would."""

    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []
        self.dead_letters: list[DeadLetter] = []
        self.started = False
        self.stopped = False
        self.fail_after: int | None = None
        self.fail_dead_letters = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, event: ChangeEvent) -> None:
        if self.fail_after is not None and len(self.events) >= self.fail_after:
            raise ProducerUnavailable("Kafka did not acknowledge the write: test")
        self.events.append(event)

    async def send_dead_letter(self, letter: DeadLetter) -> None:
        if self.fail_dead_letters:
            raise ProducerUnavailable("Kafka did not acknowledge the write: test")
        self.dead_letters.append(letter)


def settings(**overrides: Any) -> CmsSettings:
    sources = {
        "site": CmsSourceConfig(kind=CmsKind.GENERIC, secret=SECRET),
        "blog": CmsSourceConfig(kind=CmsKind.WORDPRESS, secret="another-secret"),
        "space": CmsSourceConfig(kind=CmsKind.CONTENTFUL, secret=SECRET),
    }
    return CmsSettings(sources=sources, max_body_bytes=MAX_BODY, **overrides)


@pytest.fixture
def producer() -> RecordingProducer:
    return RecordingProducer()


@pytest.fixture
async def client(producer: RecordingProducer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(), StreamSettings(), producer_factory=lambda _: producer)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            yield client


def signed(body: bytes, secret: str = SECRET, **headers: str) -> dict[str, str]:
    """Standard Webhooks headers, with a fresh message id (a new delivery) each time."""
    stamp = standard_webhook_headers(
        secret, body, message_id=f"msg_{uuid.uuid4().hex}", timestamp=datetime.now(UTC)
    )
    return {**stamp, **headers}


def contentful_signed(body: bytes, source: str = "space", **headers: str) -> dict[str, str]:
    path = f"/webhooks/{source}"
    stamp = contentful_headers(SECRET, "POST", path, body, timestamp=datetime.now(UTC))
    return {**stamp, **headers}


async def post(
    client: httpx.AsyncClient, body: bytes, source: str = "site", **headers: str
) -> httpx.Response:
    return await client.post(f"/webhooks/{source}", content=body, headers=signed(body, **headers))


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_the_lifespan_starts_and_stops_the_producer() -> None:
    producer = RecordingProducer()
    app = create_app(settings(), StreamSettings(), producer_factory=lambda _: producer)
    assert not producer.started
    async with app.router.lifespan_context(app):
        assert producer.started
        assert not producer.stopped
    assert producer.stopped


async def test_the_default_factory_builds_a_kafka_producer_for_the_configured_topics() -> None:
    stream_settings = StreamSettings(changes_topic="c.topic", dead_letter_topic="c.dlq")
    producer = default_producer_factory(stream_settings)
    assert isinstance(producer, ChangeProducer)
    assert (producer.changes_topic, producer.dead_letter_topic) == ("c.topic", "c.dlq")


async def test_a_valid_webhook_is_produced_then_accepted(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    response = await post(client, load_bytes("generic_batch"))
    assert response.status_code == 202
    assert [event.op for event in producer.events] == [Operation.UPSERT, Operation.DELETE]
    assert response.json() == {
        "accepted": [event.event_id for event in producer.events],
        "duplicates": [],
    }
    assert {event.source for event in producer.events} == {"cms:site"}
    assert producer.dead_letters == []


async def test_a_redelivery_is_listed_as_duplicates_and_not_sent_again(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    body = load_bytes("generic_batch")
    first = await post(client, body)
    again = await post(client, body)
    assert again.status_code == 202
    assert again.json() == {"accepted": [], "duplicates": first.json()["accepted"]}
    assert len(producer.events) == 2


async def test_the_same_event_twice_in_one_body_is_sent_once(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    entry = load_payload("generic_publish")
    response = await post(client, json.dumps({"events": [entry, entry]}).encode())
    body = response.json()
    assert len(producer.events) == 1
    assert body["duplicates"] == body["accepted"]


async def test_unknown_source_is_404(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    response = await post(client, load_bytes("generic_publish"), source="nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown source 'nope'"}
    assert producer.events == []


async def test_unsigned_is_401_and_nothing_is_produced(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    response = await client.post("/webhooks/site", content=b"not even json")
    assert response.status_code == 401
    assert "webhook-signature" in response.json()["detail"]
    assert producer.events == []
    assert producer.dead_letters == []


async def test_tampered_body_is_401(client: httpx.AsyncClient, producer: RecordingProducer) -> None:
    body = load_bytes("generic_publish")
    tampered = body.replace(b'"revision": 17', b'"revision": 99')
    assert tampered != body
    response = await client.post("/webhooks/site", content=tampered, headers=signed(body))
    assert response.status_code == 401
    assert producer.events == []
    assert producer.dead_letters == []


async def test_another_sources_secret_is_401(client: httpx.AsyncClient) -> None:
    body = load_bytes("wordpress_post_publish")
    response = await client.post("/webhooks/blog", content=body, headers=signed(body))
    assert response.status_code == 401


async def test_oversized_body_is_413_before_anything_else(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    body = b"x" * (MAX_BODY + 1)
    response = await client.post("/webhooks/site", content=body)  # unsigned too
    assert response.status_code == 413
    assert producer.dead_letters == []


async def test_oversized_streamed_body_without_content_length_is_413(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * (MAX_BODY // 5)

    response = await client.post("/webhooks/site", content=chunks())
    assert response.status_code == 413


async def test_not_json_is_422_and_dead_lettered_with_the_original_bytes(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    body = b'{"id": "a", "action": '
    response = await post(client, body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("the body is not valid JSON")
    (letter,) = producer.dead_letters
    assert letter.stage == "ingress"
    assert letter.source == "cms:site"
    assert letter.original_bytes() == body
    assert letter.reason == response.json()["detail"]
    assert producer.events == []


async def test_an_unmappable_payload_is_422_with_the_reason_and_dead_lettered(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    body = json.dumps({"id": "a", "action": "publish", "text": "x"}).encode()
    response = await post(client, body)
    assert response.status_code == 422
    assert "give revision (an integer) or updated_at" in response.json()["detail"]
    (letter,) = producer.dead_letters
    assert letter.original_bytes() == body
    assert producer.events == []


async def test_headers_reach_the_adapter(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    body = load_bytes("contentful_entry_unpublish")
    topic = {"X-Contentful-Topic": "ContentManagement.Entry.unpublish"}
    headers = contentful_signed(body, **topic)
    response = await client.post("/webhooks/space", content=body, headers=headers)
    assert response.status_code == 202
    assert producer.events[0].op is Operation.DELETE


async def test_kafka_unavailable_is_503_with_retry_after_and_a_retry_succeeds(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    producer.fail_after = 0
    body = load_bytes("generic_publish")
    response = await post(client, body)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    producer.fail_after = None
    retry = await post(client, body)
    assert retry.status_code == 202
    assert len(retry.json()["accepted"]) == 1


async def test_after_a_partial_failure_the_retry_sends_only_the_rest(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    producer.fail_after = 1
    body = load_bytes("generic_batch")
    assert (await post(client, body)).status_code == 503
    producer.fail_after = None
    retry = (await post(client, body)).json()
    assert len(retry["duplicates"]) == 1
    assert len(retry["accepted"]) == 1
    assert len(producer.events) == 2


async def test_a_dead_letter_kafka_refuses_is_503_so_the_sender_retries(
    client: httpx.AsyncClient, producer: RecordingProducer
) -> None:
    producer.fail_dead_letters = True
    response = await post(client, b"[]")
    assert response.status_code == 503
    assert "Retry-After" in response.headers


async def test_one_log_line_per_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="stream.cms.app"):
        await post(client, load_bytes("generic_publish"))
        await client.post("/webhooks/site", content=b"{}")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("cms_webhook source=site status=202 events=1 accepted=1")
    assert "doc_ids=cms:site:" in lines[0]
    assert lines[1].startswith("cms_webhook source=site status=401 ")
    assert 'reason="Standard Webhooks verification failed' in lines[1]
