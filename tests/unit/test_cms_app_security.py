"""The CMS ingress's authentication schemes, replay window, bad text and event loop
(stream.cms.app, stream.cms.authentication), over HTTP with a recording producer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from stream.cms import (
    AuthScheme,
    CmsSettings,
    CmsSourceConfig,
    contentful_headers,
    create_app,
    sign,
    standard_webhook_headers,
)
from stream.cms.adapters import CmsKind
from stream.settings import StreamSettings
from tests.unit.cms_payloads import load_bytes, load_payload
from tests.unit.test_cms_app import RecordingProducer

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="
TOKEN = "strapi-token-0123456789"
PLAIN = "plain-secret-0123456789"


def _settings() -> CmsSettings:
    return CmsSettings(
        sources={
            "site": CmsSourceConfig(kind=CmsKind.GENERIC, secret=SECRET),
            "old": CmsSourceConfig(kind=CmsKind.GENERIC, secret=PLAIN, auth=AuthScheme.MMRAG_HMAC),
            "space": CmsSourceConfig(kind=CmsKind.CONTENTFUL, secret=PLAIN),
            "shop": CmsSourceConfig(
                kind=CmsKind.STRAPI, secret=TOKEN, base_url="https://cms.example.com"
            ),
        },
        max_body_bytes=2_000_000,
    )


class Ingress:
    """An app with its own producer; ``restart()`` is a new process (memory gone)."""

    def __init__(self) -> None:
        self.producer = RecordingProducer()
        self.app: FastAPI = create_app(_settings(), StreamSettings(), lambda _: self.producer)


@pytest.fixture
async def ingress() -> AsyncIterator[tuple[Ingress, httpx.AsyncClient]]:
    running = Ingress()
    async with running.app.router.lifespan_context(running.app):
        transport = httpx.ASGITransport(app=running.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            yield running, client


def _standard(body: bytes, message_id: str = "msg_1", age: timedelta = timedelta()) -> Any:
    moment = datetime.now(UTC) - age
    return standard_webhook_headers(SECRET, body, message_id=message_id, timestamp=moment)


async def test_standard_webhooks_message_is_accepted_once(
    ingress: tuple[Ingress, httpx.AsyncClient],
) -> None:
    running, client = ingress
    body = load_bytes("generic_publish")
    headers = _standard(body)
    first = await client.post("/webhooks/site", content=body, headers=headers)
    replay = await client.post("/webhooks/site", content=body, headers=headers)
    assert first.status_code == 202
    assert len(first.json()["accepted"]) == 1
    assert replay.status_code == 202
    assert replay.json()["accepted"] == []
    assert len(running.producer.events) == 1


async def test_a_captured_message_outside_the_window_is_refused_even_after_a_restart() -> None:
    body = load_bytes("generic_publish")
    captured = _standard(body, age=timedelta(minutes=6))
    fresh = Ingress()  # a restarted ingress remembers no message ids
    async with fresh.app.router.lifespan_context(fresh.app):
        transport = httpx.ASGITransport(app=fresh.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            response = await client.post("/webhooks/site", content=body, headers=captured)
    assert response.status_code == 401
    assert "too old" in response.json()["detail"]
    assert fresh.producer.events == []
    assert fresh.producer.dead_letters == []


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-signature": "v1,AAAA"},
        {"webhook-signature": "garbage"},
        {"webhook-timestamp": "soon"},
        {"webhook-id": "msg_other"},  # the id is signed too
    ],
)
async def test_forged_standard_webhooks_headers_are_401(
    ingress: tuple[Ingress, httpx.AsyncClient], change: dict[str, str]
) -> None:
    running, client = ingress
    body = load_bytes("generic_publish")
    response = await client.post("/webhooks/site", content=body, headers=_standard(body) | change)
    assert response.status_code == 401
    assert running.producer.events == []


async def test_the_legacy_body_signature_works_only_where_configured(
    ingress: tuple[Ingress, httpx.AsyncClient],
) -> None:
    running, client = ingress
    body = load_bytes("generic_publish")
    legacy = {"X-Mmrag-Signature": sign(PLAIN.encode(), body)}
    assert (await client.post("/webhooks/old", content=body, headers=legacy)).status_code == 202
    refused = await client.post(
        "/webhooks/site", content=body, headers={"X-Mmrag-Signature": sign(SECRET.encode(), body)}
    )
    assert refused.status_code == 401
    assert len(running.producer.events) == 1


async def test_native_contentful_request_verification(
    ingress: tuple[Ingress, httpx.AsyncClient],
) -> None:
    running, client = ingress
    body = load_bytes("contentful_entry_unpublish")
    topic = {"X-Contentful-Topic": "ContentManagement.Entry.unpublish"}
    now = datetime.now(UTC)
    good = contentful_headers(PLAIN, "POST", "/webhooks/space", body, timestamp=now)
    old = contentful_headers(
        PLAIN, "POST", "/webhooks/space", body, timestamp=now - timedelta(minutes=6)
    )
    other_path = contentful_headers(PLAIN, "POST", "/webhooks/site", body, timestamp=now)
    wrong_key = contentful_headers("not-it", "POST", "/webhooks/space", body, timestamp=now)
    unsigned_time = good | {"x-contentful-signed-headers": "x-contentful-signed-headers"}
    statuses = [
        (await client.post("/webhooks/space", content=content, headers=headers | topic)).status_code
        for content, headers in [
            (body, old),
            (body, other_path),
            (body, wrong_key),
            (body, unsigned_time),
            (body.replace(b"}", b" }", 1), good),
            (body, good),
            (body, good),  # the same request again: already accepted
        ]
    ]
    assert statuses == [401, 401, 401, 401, 401, 202, 202]
    assert len(running.producer.events) == 1


async def test_native_strapi_token(ingress: tuple[Ingress, httpx.AsyncClient]) -> None:
    running, client = ingress
    body = load_bytes("strapi_v4_entry_publish")
    ok = await client.post("/webhooks/shop", content=body, headers={"Authorization": TOKEN})
    bearer = await client.post(
        "/webhooks/shop", content=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    missing = await client.post("/webhooks/shop", content=body)
    wrong = await client.post("/webhooks/shop", content=body, headers={"Authorization": "Bearer x"})
    assert [r.status_code for r in (ok, bearer, missing, wrong)] == [202, 202, 401, 401]
    assert len(running.producer.events) == 1  # the second is a duplicate event id


async def test_a_lone_surrogate_is_422_and_dead_lettered_not_a_500(
    ingress: tuple[Ingress, httpx.AsyncClient],
) -> None:
    running, client = ingress
    body = b'{"id": "a", "action": "publish", "revision": 1, "text": "broken \\ud800 text"}'
    response = await client.post("/webhooks/site", content=body, headers=_standard(body))
    assert response.status_code == 422
    assert "lone surrogate" in response.json()["detail"]
    assert "body.text" in response.json()["detail"]
    (letter,) = running.producer.dead_letters
    assert letter.original_bytes() == body
    assert running.producer.events == []


async def test_health_answers_while_a_large_body_is_mapped(
    ingress: tuple[Ingress, httpx.AsyncClient],
) -> None:
    running, client = ingress
    payload = load_payload("strapi_v4_entry_publish")
    payload["entry"]["content"] = "![a](/uploads/a.png) " * 30_000  # 630 KB of images
    body = json.dumps(payload).encode()
    headers = {"Authorization": TOKEN}
    webhook = asyncio.create_task(client.post("/webhooks/shop", content=body, headers=headers))
    await asyncio.sleep(0.3)  # the body is read and being mapped
    started = time.perf_counter()
    health = await client.get("/health")
    answered_in = time.perf_counter() - started
    assert health.status_code == 200
    assert not webhook.done(), "mapping finished before /health was asked: body too small"
    assert answered_in < 1.0
    response = await webhook
    assert response.status_code == 202
    assert len(running.producer.events) == 1
