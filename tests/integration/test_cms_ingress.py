"""The CMS ingress against the real broker: a 2xx means the event is on Kafka; and from
webhook to search, through Kafka, the indexing pipeline and Elasticsearch."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from indexer.encoders.base import Encoders
from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.events import ChangeEvent
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from stream.cms import (
    CmsSettings,
    contentful_headers,
    create_app,
    sign,
    standard_webhook_headers,
)
from stream.settings import StreamSettings
from tests.integration.kafka_helpers import create_test_topics, read_records
from tests.integration.pipeline_helpers import delete_test_indexes, failed_outcomes

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "cms"
SECRETS = {"site": b"generic-secret", "blog": b"wp-secret", "shop": b"strapi-secret", "cf": b"cf"}


def _authenticated(source: str, body: bytes) -> dict[str, str]:
    """What each source's sender puts on a request: Standard Webhooks (generic and
    WordPress), Contentful's request verification, Strapi's token."""
    secret = SECRETS[source].decode()
    now = datetime.now(UTC)
    if source == "cf":
        return contentful_headers(secret, "POST", f"/webhooks/{source}", body, timestamp=now)
    if source == "shop":
        return {"Authorization": f"Bearer {secret}"}
    return standard_webhook_headers(secret, body, message_id=f"msg_{uuid.uuid4()}", timestamp=now)


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
    signed = {"X-Mmrag-Signature": signature} if signature else _authenticated(source, body)
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
    tampered = await client.post(
        "/webhooks/site",
        content=generic.replace(b"}", b' , "x": 1}', 1),
        headers=_authenticated("site", generic),
    )
    legacy = await _post(client, "blog", wordpress, signature=sign(SECRETS["blog"], wordpress))
    statuses = [unsigned.status_code, tampered.status_code, legacy.status_code]
    assert statuses == [401, 401, 401]  # the legacy body signature is opt-in per source

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


# --- webhook → Kafka → indexing pipeline → Elasticsearch -----------------------------------


@pytest.fixture(scope="module")
def encoders() -> Encoders:
    return load_encoders(EncoderSettings(clip_model=""))


@pytest.fixture
async def pipeline(
    es_url: str, unique_name: str, encoders: Encoders
) -> AsyncIterator[tuple[IndexingPipeline, AsyncElasticsearch, str]]:
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-cms-{unique_name}-chunks",
        documents_index=f"test-cms-{unique_name}-documents",
    )
    indexing = IndexingPipeline(
        settings, ElasticsearchStore(settings), encoders, ContentReader(settings)
    )
    await indexing.setup()
    es = AsyncElasticsearch(es_url, request_timeout=30)
    try:
        yield indexing, es, settings.chunks_alias
    finally:
        await indexing.close()
        await delete_test_indexes(es, settings)
        await es.close()


async def _deliver(
    client: httpx.AsyncClient, settings: StreamSettings, bodies: list[bytes], seen: int
) -> list[ChangeEvent]:
    """POST each WordPress body in turn; the change events that landed on Kafka since."""
    for body in bodies:
        response = await _post(client, "blog", body)
        assert response.status_code == 202, response.text
    records = await read_records(
        settings.kafka_bootstrap, settings.changes_topic, expect=seen + len(bodies)
    )
    events = [
        ChangeEvent.model_validate({k: v for k, v in r.items() if not k.startswith("_")})
        for r in records
    ]
    return sorted(events, key=lambda e: e.emitted_at)[seen:]


async def _chunks(es: AsyncElasticsearch, alias: str, doc_id: str) -> list[dict[str, Any]]:
    await es.indices.refresh(index=alias)
    found = await es.search(index=alias, query={"term": {"doc_id": doc_id}}, size=100)
    return [hit["_source"] for hit in found["hits"]["hits"]]


async def test_a_wordpress_post_is_parsed_once_and_its_quick_edit_and_delete_are_not_lost(
    client: httpx.AsyncClient,
    stream_settings: StreamSettings,
    pipeline: tuple[IndexingPipeline, AsyncElasticsearch, str],
) -> None:
    indexing, es, alias = pipeline
    post = json.loads((FIXTURES / "wordpress_post_publish.json").read_text("utf-8"))
    post["content"]["rendered"] = (
        "<p>We moved our indexer to Kafka.</p><h2>Install</h2><p>Add the loader tag:</p>"
        '<pre class="wp-block-code"><code>&lt;script src="loader.js"&gt;&lt;/script&gt;</code>'
        "</pre><h2>Use</h2><p>Call <code>start()</code> once the page is ready.</p>"
    )
    (published,) = await _deliver(client, stream_settings, [json.dumps(post).encode()], 0)
    result = await indexing.process([published])
    assert not failed_outcomes(result), failed_outcomes(result)
    chunks = await _chunks(es, alias, published.doc_id)
    sections = {chunk.get("section"): chunk["text"] for chunk in chunks}
    assert set(sections) >= {"Install", "Use"}
    assert '<script src="loader.js"></script>' in sections["Install"]
    assert "Call start() once the page is ready." in sections["Use"]

    # A quick edit in the same second (modified_gmt unchanged), then the post deleted.
    post["content"]["rendered"] += "<h2>Limits</h2><p>One loader per page.</p>"
    deleted = {"action": "post_delete", "post": post}
    edit, delete = await _deliver(
        client, stream_settings, [json.dumps(post).encode(), json.dumps(deleted).encode()], 1
    )
    assert published.revision < edit.revision < delete.revision
    assert len({published.event_id, edit.event_id, delete.event_id}) == 3

    result = await indexing.process([edit])
    assert not failed_outcomes(result), failed_outcomes(result)
    assert "Limits" in {chunk.get("section") for chunk in await _chunks(es, alias, edit.doc_id)}
    result = await indexing.process([delete])
    assert not failed_outcomes(result), failed_outcomes(result)
    assert await _chunks(es, alias, edit.doc_id) == []
