"""Strapi 4/5 webhooks → change events (stream.cms.strapi)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from indexer.events import Asset, ChangeEvent, Operation, derive_doc_id, derive_event_id
from stream.cms import CmsKind, PayloadError, to_change_events
from tests.unit.cms_payloads import NOW, load_payload

BASE_URL = "https://cms.example.com"
V4_UPDATED_MS = 1_795_536_131_871  # entry.updatedAt 2026-11-24T16:02:11.871Z
V4_WEBHOOK_MS = 1_795_536_131_913  # webhook createdAt 2026-11-24T16:02:11.913Z


def strapi(payload: dict[str, Any], base_url: str | None = BASE_URL) -> ChangeEvent:
    (event,) = to_change_events(CmsKind.STRAPI, "cms", payload, {}, NOW, base_url=base_url)
    return event


def test_v4_publish() -> None:
    event = strapi(load_payload("strapi_v4_entry_publish"))
    assert event.op is Operation.UPSERT
    assert event.doc_id == derive_doc_id("cms:cms", "article/7")
    assert event.revision == V4_UPDATED_MS
    assert event.event_id == derive_event_id("cms:cms", event.doc_id, "upsert", V4_UPDATED_MS)
    assert event.uri == "cms://cms/article/7"
    assert event.content_type == "text/markdown"
    assert event.text == (
        "Five ways to cut indexing lag\n\n"
        "Practical tips from running a streaming indexer.\n\n"
        "## 1. Send references, not bytes\n\nKafka likes small records.\n\n"
        "![diagram](/uploads/diagram_1a2b3c.png)\n\n"
        "Cut indexing lag\n\nFive tips to make search fresh."
    )
    assert event.metadata.title == "Five ways to cut indexing lag"
    assert event.metadata.tags == ("performance", "kafka")
    assert event.metadata.author == "Linus Example"
    assert event.metadata.language == "en"
    assert event.metadata.extra == {"strapi_model": "article"}


def test_v4_media_become_assets_formats_and_non_images_do_not() -> None:
    event = strapi(load_payload("strapi_v4_entry_publish"))
    assert event.assets == (
        Asset(
            uri="https://cms.example.com/uploads/cover_9f8e.jpg",
            content_type="image/jpeg",
            alt_text="A stopwatch on a keyboard",
            caption="Every second counts",
        ),
        Asset(uri="https://cms.example.com/uploads/diagram_1a2b3c.png", alt_text="diagram"),
    )


def test_v5_publish_with_blocks_components_and_locale() -> None:
    event = strapi(load_payload("strapi_v5_entry_publish"))
    assert event.doc_id == derive_doc_id("cms:cms", "hq7k2m9x4p1r8s5t3v6w0y2z@fr")
    assert event.revision == 1_795_598_999_981
    assert event.text == (
        "Bonjour, Kafka\n\n"
        "Pourquoi\nLes webhooks arrivent vite, voir Kafka.\nFraîcheur\nFiabilité\n\n"
        "Citation\n\nLa donnée la plus fraîche gagne."
    )
    assert event.assets == (
        Asset(
            uri="https://cdn.example.com/uploads/schema_5d6e.png",
            content_type="image/png",
            alt_text="Schéma du flux",
            caption="Le flux",
        ),
    )
    assert event.metadata.language == "fr"


def test_v5_without_locale_is_keyed_by_document_id() -> None:
    payload = load_payload("strapi_v5_entry_publish")
    payload["entry"]["locale"] = None
    assert strapi(payload).doc_id == derive_doc_id("cms:cms", "hq7k2m9x4p1r8s5t3v6w0y2z")


@pytest.mark.parametrize("name", ["strapi_v4_entry_publish", "strapi_v5_entry_publish"])
@pytest.mark.parametrize("event_name", ["entry.create", "entry.update", "entry.publish"])
def test_public_entries_are_upserted(name: str, event_name: str) -> None:
    payload = load_payload(name)
    payload["event"] = event_name
    assert strapi(payload).op is Operation.UPSERT


@pytest.mark.parametrize("event_name", ["entry.unpublish", "entry.delete"])
def test_unpublish_and_delete_use_the_later_of_entry_and_webhook_time(event_name: str) -> None:
    payload = load_payload("strapi_v4_entry_publish")
    payload["event"] = event_name
    event = strapi(payload)
    assert event.op is Operation.DELETE
    assert event.doc_id == derive_doc_id("cms:cms", "article/7")
    assert event.revision == V4_WEBHOOK_MS
    assert event.text is None


def test_a_delete_without_webhook_time_uses_updated_at() -> None:
    payload = load_payload("strapi_v4_entry_publish")
    payload["event"] = "entry.delete"
    del payload["createdAt"]
    assert strapi(payload).revision == V4_UPDATED_MS


@pytest.mark.parametrize("event_name", ["entry.create", "entry.update"])
def test_a_v4_draft_is_not_public_so_it_is_deleted(event_name: str) -> None:
    payload = load_payload("strapi_v4_entry_publish")
    payload["event"] = event_name
    payload["entry"]["publishedAt"] = None
    event = strapi(payload)
    assert event.op is Operation.DELETE
    assert event.revision == V4_WEBHOOK_MS


def test_v4_without_draft_and_publish_is_always_public() -> None:
    payload = load_payload("strapi_v4_entry_publish")
    payload["event"] = "entry.update"
    del payload["entry"]["publishedAt"]
    assert strapi(payload).op is Operation.UPSERT


def test_a_v5_draft_is_refused_rather_than_deleting_the_published_version() -> None:
    payload = load_payload("strapi_v5_entry_publish")
    payload["event"] = "entry.update"
    payload["entry"]["publishedAt"] = None
    with pytest.raises(PayloadError, match=r"is a draft .*not a published change"):
        strapi(payload)


def test_a_v5_unpublish_of_a_draft_payload_still_deletes() -> None:
    payload = load_payload("strapi_v5_entry_publish")
    payload["event"] = "entry.unpublish"
    payload["entry"]["publishedAt"] = None
    event = strapi(payload)
    assert event.op is Operation.DELETE
    assert event.revision == 1_795_599_000_120  # the webhook's createdAt


@pytest.mark.parametrize("event_name", ["media.create", "media.update", "media.delete"])
def test_media_events_are_not_entries(event_name: str) -> None:
    payload = {"event": event_name, "media": {"id": 1, "url": "/uploads/a.png"}}
    with pytest.raises(PayloadError, match="media library event, not an entry"):
        strapi(payload)


def test_relative_media_without_base_url_is_an_error() -> None:
    with pytest.raises(PayloadError, match=r"'/uploads/cover_9f8e\.jpg' cannot be resolved"):
        strapi(load_payload("strapi_v4_entry_publish"), base_url=None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event": "review-workflows.updateEntryStage"}, "unknown Strapi event"),
        ({"event": None}, "Strapi body has no 'event'"),
        ({"model": None}, "Strapi 'model' is missing"),
        ({"entry": None}, "Strapi 'entry' must be a JSON object, not null"),
    ],
)
def test_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        strapi(load_payload("strapi_v4_entry_publish") | change)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", None, "entry id is missing"),
        ("updatedAt", None, "entry updatedAt is missing"),
        ("updatedAt", "2026-11-24T16:02:11", "has no time zone"),
    ],
)
def test_entry_errors(field: str, value: object, message: str) -> None:
    payload = load_payload("strapi_v4_entry_publish")
    payload["entry"][field] = value
    with pytest.raises(PayloadError, match=message):
        strapi(payload)


def test_an_entry_without_text_fields_or_images_has_nothing_to_index() -> None:
    payload = {
        "event": "entry.publish",
        "model": "price",
        "entry": {"id": 3, "amount": 12, "updatedAt": "2026-11-24T16:02:11.871Z"},
    }
    with pytest.raises(PayloadError, match="'price/3' has nothing to index"):
        strapi(payload)


# --- linear time (the regex took 6.2 s on 60 KB of "![") -----------------------------------


GROWTH_BOUND = 30.0
"""Ten times the input: a linear mapping costs about 10x, a quadratic one about 100x."""


def _cpu_seconds_to_map(payload: dict[str, Any]) -> float:
    started = time.thread_time()
    strapi(payload)
    return time.thread_time() - started


def _growth(small: dict[str, Any], large: dict[str, Any]) -> float:
    """CPU time to map ``large`` over that to map ``small`` (ten times smaller), best of
    three each: a ratio in one process, so a loaded machine does not fail it."""
    return min(_cpu_seconds_to_map(large) for _ in range(3)) / max(
        min(_cpu_seconds_to_map(small) for _ in range(3)), 1e-6
    )


def test_60_kb_of_image_openers_in_a_markdown_body_maps_in_well_under_a_second() -> None:
    def payload_with(openers: int) -> dict[str, Any]:
        payload = load_payload("strapi_v4_entry_publish")
        payload["entry"]["content"] = "Intro ![a](/uploads/a.png)\n\n" + "![" * openers
        return payload

    payload = payload_with(30_000)
    assert _growth(payload_with(3_000), payload) < GROWTH_BOUND
    assert [asset.uri for asset in strapi(payload).assets if "a.png" in asset.uri] == [
        "https://cms.example.com/uploads/a.png"
    ]


def test_deeply_nested_blocks_map_in_linear_time() -> None:
    node: dict[str, Any] = {"type": "text", "text": "deep"}
    for _ in range(200):  # 400 levels: below what the JSON parser accepts
        node = {"type": "list-item", "children": [{"type": "list", "children": [node]}]}

    def payload_with(blocks: int) -> dict[str, Any]:
        payload = load_payload("strapi_v5_entry_publish")
        payload["entry"]["body"] = [node] * blocks
        return payload

    payload = payload_with(500)
    assert _growth(payload_with(50), payload) < GROWTH_BOUND
    assert strapi(payload).text is not None
