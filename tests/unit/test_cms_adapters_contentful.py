"""Contentful webhooks → change events (stream.cms.contentful)."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.events import Asset, ChangeEvent, Operation, derive_doc_id, derive_event_id
from indexer.extract import extract_document
from indexer.sources import resolve_reference
from stream.cms import CmsKind, PayloadError, to_change_events
from tests.unit.cms_payloads import NOW, load_payload

ENTRY_ID = "5KsDBWseXY6QegucYAoacS"
ASSET_ID = "3wtvPBbBjiMKqKKga8I2Cu"


def contentful(payload: dict[str, Any], topic: str | None, **options: Any) -> ChangeEvent:
    headers = {} if topic is None else {"X-Contentful-Topic": topic}
    (event,) = to_change_events(CmsKind.CONTENTFUL, "space", payload, headers, NOW, **options)
    return event


def test_entry_publish() -> None:
    event = contentful(load_payload("contentful_entry_publish"), "ContentManagement.Entry.publish")
    assert event.op is Operation.UPSERT
    assert event.doc_id == derive_doc_id("cms:space", ENTRY_ID)
    assert event.revision == 6
    assert event.event_id == derive_event_id("cms:space", event.doc_id, "upsert", 6)
    assert event.uri == f"cms://space/{ENTRY_ID}"
    assert event.content_type == "text/markdown"
    assert event.text == (
        "Search that keeps up\n\nHow change events keep an index fresh.\n\n"
        "Events, not crawls\n"
        "A crawler visits every page; an event names the one that changed.\n"
        "Seconds, not hours"
    )
    assert event.assets == ()
    assert event.metadata.title == "Search that keeps up"
    assert event.metadata.tags == ("search", "events")
    assert event.metadata.language == "en-US"
    assert event.metadata.extra == {"contentful_content_type": "blogPost"}


def test_the_configured_locale_is_picked_else_each_fields_first() -> None:
    event = contentful(
        load_payload("contentful_entry_publish"),
        "ContentManagement.Entry.publish",
        locale="de-DE",
    )
    assert event.metadata.title == "Suche, die mithält"
    assert event.metadata.language == "de-DE"
    assert event.text is not None
    assert "Wie Änderungsereignisse einen Index frisch halten." in event.text
    assert "Events, not crawls" in event.text  # body has only en-US


def test_a_url_field_is_the_uri_and_markdown_images_are_indexed_once() -> None:
    payload = load_payload("contentful_entry_publish")
    payload["fields"]["url"] = {"en-US": "https://www.example.com/blog/search"}
    payload["fields"]["notes"] = {"en-US": "See ![flow](//images.ctfassets.net/x/flow.png)"}
    event = contentful(payload, "ContentManagement.Entry.publish")
    assert event.uri == "https://www.example.com/blog/search"
    # The worker reads the image from the Markdown (resolved against the URI): not an
    # asset as well, which would make two image chunks of it.
    assert event.assets == ()
    assert event.text is not None
    document = extract_document(event.text.encode(), event.content_type)
    assert [
        resolve_reference(image.reference or "", event.uri) for image in document.image_parts
    ] == ["https://images.ctfassets.net/x/flow.png"]


def test_markdown_images_the_worker_cannot_resolve_are_assets() -> None:
    payload = load_payload("contentful_entry_publish")
    payload["fields"]["notes"] = {"en-US": "See ![flow](//images.ctfassets.net/x/flow.png)"}
    event = contentful(payload, "ContentManagement.Entry.publish")
    assert event.uri.startswith("cms://")  # no public URL to resolve against
    assert event.assets == (Asset(uri="https://images.ctfassets.net/x/flow.png", alt_text="flow"),)


def test_a_header_in_any_case_is_found() -> None:
    (event,) = to_change_events(
        CmsKind.CONTENTFUL,
        "space",
        load_payload("contentful_entry_unpublish"),
        {"x-contentful-topic": "ContentManagement.Entry.unpublish"},
        NOW,
    )
    assert event.op is Operation.DELETE


@pytest.mark.parametrize("action", ["unpublish", "delete", "archive"])
def test_leaving_publication_deletes(action: str) -> None:
    event = contentful(
        load_payload("contentful_entry_unpublish"), f"ContentManagement.Entry.{action}"
    )
    assert event.op is Operation.DELETE
    assert event.doc_id == derive_doc_id("cms:space", ENTRY_ID)
    assert event.revision == 7
    assert event.text is None


@pytest.mark.parametrize("action", ["save", "auto_save", "create", "unarchive"])
def test_drafts_are_not_published_changes(action: str) -> None:
    with pytest.raises(PayloadError, match="is not a published change"):
        contentful(load_payload("contentful_entry_publish"), f"ContentManagement.Entry.{action}")


def test_asset_publish_is_an_image_document() -> None:
    event = contentful(load_payload("contentful_asset_publish"), "ContentManagement.Asset.publish")
    url = f"https://images.ctfassets.net/yadj1kx9rmg0/{ASSET_ID}/a1b2c3/flow.png"
    assert event.op is Operation.UPSERT
    assert event.doc_id == derive_doc_id("cms:space", f"asset/{ASSET_ID}")
    assert event.uri == url
    assert event.content_type == "image/png"
    assert event.revision == 2
    assert event.text is None
    assert event.assets == (
        Asset(
            uri=url,
            content_type="image/png",
            alt_text="Webhooks flow into Kafka, then into the index",
        ),
    )
    assert event.metadata.title == "Event flow diagram"
    assert event.metadata.extra == {"file_name": "flow.png"}


def test_asset_unpublish_deletes_the_asset_document() -> None:
    payload = {"sys": {"type": "DeletedAsset", "id": ASSET_ID, "revision": 3}}
    event = contentful(payload, "ContentManagement.Asset.unpublish")
    assert event.op is Operation.DELETE
    assert event.doc_id == derive_doc_id("cms:space", f"asset/{ASSET_ID}")


def test_an_asset_without_a_file_url_is_refused() -> None:
    payload = load_payload("contentful_asset_publish")
    del payload["fields"]["file"]
    with pytest.raises(PayloadError, match=r"has no fields\.file\.url"):
        contentful(payload, "ContentManagement.Asset.publish")


def test_revision_falls_back_to_updated_at() -> None:
    payload = load_payload("contentful_entry_publish")
    del payload["sys"]["revision"]
    event = contentful(payload, "ContentManagement.Entry.publish")
    assert event.revision == 1_795_347_903_417  # 2026-11-22T11:45:03.417Z


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        (None, "missing X-Contentful-Topic header"),
        ("", "missing X-Contentful-Topic header"),
        ("ContentManagement.ContentType.publish", "not about an Entry or an Asset"),
        ("publish", "not about an Entry or an Asset"),
        ("ContentManagement.Entry.teleport", "unknown Contentful action"),
    ],
)
def test_topic_errors(topic: str | None, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        contentful(load_payload("contentful_entry_publish"), topic)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sys": None}, "Contentful 'sys' must be a JSON object, not null"),
        ({"sys": {"revision": 1}}, "sys.id is missing"),
        ({"sys": {"id": "a", "revision": "6"}}, "sys.revision must be a non-negative integer"),
        ({"fields": {"title": "plain"}}, "field 'title' must be an object of locale"),
        ({"fields": []}, "Contentful 'fields' must be a JSON object, not an array"),
    ],
)
def test_body_errors(change: dict[str, Any], message: str) -> None:
    payload = load_payload("contentful_entry_publish") | change
    with pytest.raises(PayloadError, match=message):
        contentful(payload, "ContentManagement.Entry.publish")


def test_an_entry_of_only_links_and_numbers_has_nothing_to_index() -> None:
    payload = load_payload("contentful_entry_publish")
    payload["fields"] = {key: payload["fields"][key] for key in ("heroImage", "readingMinutes")}
    with pytest.raises(PayloadError, match=f"'{ENTRY_ID}' has nothing to index"):
        contentful(payload, "ContentManagement.Entry.publish")
