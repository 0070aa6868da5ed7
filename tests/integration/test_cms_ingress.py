"""The CMS ingress against the real broker: a 2xx means the event is on Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from stream.cms import CmsSettings, create_app, sign
from stream.settings import StreamSettings
from tests.integration.kafka_helpers import create_test_topics, read_records

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "cms"
SECRETS = {"site": b"generic-secret", "blog": b"wp-secret", "shop": b"strapi-secret", "cf": b"cf"}


@pytest.fixture
async def stream_settings(kafka_bootstrap: str, topic_name: str) -> StreamSettings:
    return await create_test_topics(kafka_bootstrap, topic_name)


@pytest.fixture
async def client(stream_settings: StreamSettings) -> AsyncIterator[httpx.AsyncClient]:
    settings = CmsSettings(
        sources={
            "site": {"kind": "generic", "secret": SECRETS["site"].decode()},
            "blog": {"kind": "wordpress", "secret": SECRETS["blog"].decode()},
            "shop": {
                "kind": "strapi",
                "secret": SECRETS["shop"].decode(),
                "base_url": "https://cms.example.com",
            },
            "cf": {"kind": "contentful", "secret": SECRETS["cf"].decode()},
        }
    )
    app: FastAPI = create_app(settings, stream_settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingress"
        ) as http,
    ):
        yield http


async def _post(
    client: httpx.AsyncClient,
    source: str,
    body: bytes,
    *,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    signed = {"X-Mmrag-Signature": signature or sign(SECRETS[source], body)}
    return await client.post(
        f"/webhooks/{source}",
        content=body,
        headers={**signed, **(headers or {}), "Content-Type": "application/json"},
    )


async def test_each_cms_shape_produces_its_event_and_bad_requests_produce_nothing(
    client: httpx.AsyncClient, stream_settings: StreamSettings
) -> None:
    generic = (FIXTURES / "generic_publish.json").read_bytes()
    wordpress = (FIXTURES / "wordpress_post_publish.json").read_bytes()
    strapi = (FIXTURES / "strapi_v4_entry_publish.json").read_bytes()
    contentful = (FIXTURES / "contentful_entry_unpublish.json").read_bytes()

    unsigned = await client.post("/webhooks/site", content=generic)
    tampered = await _post(
        client,
        "site",
        generic.replace(b"}", b' , "x": 1}', 1),
        signature=sign(SECRETS["site"], generic),
    )
    wrong_key = await _post(client, "blog", wordpress, signature=sign(b"not the secret", wordpress))
    assert [unsigned.status_code, tampered.status_code, wrong_key.status_code] == [401, 401, 401]

    responses = [
        await _post(client, "site", generic),
        await _post(client, "blog", wordpress),
        await _post(client, "shop", strapi),
        await _post(
            client,
            "cf",
            contentful,
            headers={"X-Contentful-Topic": "ContentManagement.Entry.unpublish"},
        ),
    ]
    assert [r.status_code for r in responses] == [202, 202, 202, 202], [r.text for r in responses]
    accepted = [event_id for r in responses for event_id in r.json()["accepted"]]

    again = await _post(client, "blog", wordpress)  # a redelivered webhook
    assert again.status_code == 202
    assert again.json()["accepted"] == []
    assert again.json()["duplicates"] == responses[1].json()["accepted"]

    malformed = await _post(client, "site", b'{"id": "x", "action": "launch"}')
    assert malformed.status_code == 422
    assert "action" in malformed.json()["detail"]

    records = await read_records(
        stream_settings.kafka_bootstrap, stream_settings.changes_topic, expect=len(accepted)
    )
    assert sorted(r["event_id"] for r in records) == sorted(accepted)
    by_source = {r["source"]: r for r in records}
    assert set(by_source) == {"cms:site", "cms:blog", "cms:shop", "cms:cf"}
    assert by_source["cms:blog"]["op"] == "upsert"
    assert by_source["cms:blog"]["text"]
    assert by_source["cms:cf"]["op"] == "delete"
    assert by_source["cms:shop"]["op"] == "upsert"
    assert all(r["_key"] == r["doc_id"] for r in records)

    letters = await read_records(
        stream_settings.kafka_bootstrap, stream_settings.dead_letter_topic, expect=1
    )
    assert len(letters) == 1
    assert letters[0]["stage"] == "ingress"
    assert "action" in letters[0]["reason"]
    assert letters[0]["original_base64"]
