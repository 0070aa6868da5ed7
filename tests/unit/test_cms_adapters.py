"""Webhook payloads → change events: the dispatcher, the rules every adapter shares, and
the generic format (stream.cms.adapters, stream.cms.generic, stream.cms.payloads)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from indexer.events import (
    MAX_INLINE_TEXT_BYTES,
    Asset,
    Operation,
    derive_doc_id,
    derive_event_id,
)
from indexer.extract import extract_document
from stream.cms import CmsKind, PayloadError, to_change_events
from stream.cms.adapters import ADAPTERS
from tests.unit.cms_payloads import NOW, load_payload


def generic(payload: object, **options: Any) -> list[Any]:
    return to_change_events(CmsKind.GENERIC, "site", payload, {}, NOW, **options)


def test_every_kind_has_an_adapter() -> None:
    assert set(ADAPTERS) == set(CmsKind)
    assert [kind.value for kind in CmsKind] == ["generic", "wordpress", "strapi", "contentful"]


@pytest.mark.parametrize("kind", list(CmsKind))
@pytest.mark.parametrize(("body", "name"), [([], "an array"), ("x", "a string"), (None, "null")])
def test_a_body_that_is_not_an_object_is_refused(kind: CmsKind, body: object, name: str) -> None:
    with pytest.raises(PayloadError, match=f"must be a JSON object, not {name}"):
        to_change_events(kind, "site", body, {}, NOW)


def test_generic_publish_maps_every_field() -> None:
    (event,) = generic(load_payload("generic_publish"), acl=("group:readers",))
    assert event.op is Operation.UPSERT
    assert event.source == "cms:site"
    assert event.doc_id == derive_doc_id("cms:site", "article-42")
    assert event.event_id == derive_event_id("cms:site", event.doc_id, "upsert", 17)
    assert event.revision == 17
    assert event.uri == "https://example.com/articles/42"
    assert event.content_type == "text/html"
    assert event.assets == (
        Asset(
            uri="https://cdn.example.com/covers/42.jpg",
            alt_text="A river of documents",
            caption="Cover",
        ),
    )
    assert event.text is not None
    document = extract_document(event.text.encode(), event.content_type)  # as the worker does
    assert [part.section for part in document.text_parts] == ["Why stream?"]
    assert document.full_text == (
        "Why stream?\n\nBatch re-indexing leaves search hours behind the CMS.\n\n"
        "Webhooks to Kafka to the indexer\n\nFresh results\nLess load"
    )
    (image,) = document.image_parts
    assert image.reference == "https://example.com/media/pipeline.png"
    assert (image.alt_text, image.caption) == ("The pipeline", "Webhooks to Kafka to the indexer")
    assert event.metadata.title == "Streaming indexers in practice"
    assert event.metadata.tags == ("kafka", "search")
    assert event.metadata.author == "Ada Lovelace"
    assert event.metadata.url == "https://example.com/articles/42"
    assert event.metadata.language == "en"
    assert event.acl == ("group:readers",)
    assert event.emitted_at == NOW


def test_generic_batch_maps_each_event_in_order() -> None:
    update, unpublish = generic(load_payload("generic_batch"), acl=("group:everyone",))
    assert update.op is Operation.UPSERT
    assert update.doc_id == derive_doc_id("cms:site", "1001")
    assert update.revision == 1_795_608_000_250  # 2026-11-25T12:00:00.250Z in epoch ms
    assert update.content_type == "text/markdown"
    assert update.text == "# Release notes\n\n- Faster ingest\n- New webhook adapters"
    assert update.uri == "cms://site/1001"
    assert update.acl == ("group:staff",)  # the event's acl replaces the source's
    assert unpublish.op is Operation.DELETE
    assert unpublish.revision == 9
    assert unpublish.text is None
    assert unpublish.assets == ()
    assert unpublish.uri == "https://example.com/notes/old"


@pytest.mark.parametrize(
    ("action", "op"),
    [
        ("publish", Operation.UPSERT),
        ("update", Operation.UPSERT),
        ("create", Operation.UPSERT),
        ("unpublish", Operation.DELETE),
        ("delete", Operation.DELETE),
        ("archive", Operation.DELETE),
    ],
)
def test_generic_actions(action: str, op: Operation) -> None:
    (event,) = generic({"id": "a", "action": action, "revision": 1, "text": "hello"})
    assert event.op is op
    assert event.event_id == derive_event_id("cms:site", event.doc_id, op.value, 1)


def test_redelivery_gives_the_same_ids_and_a_new_revision_a_new_event_id() -> None:
    payload = load_payload("generic_publish")
    (first,) = generic(payload)
    (again,) = to_change_events(CmsKind.GENERIC, "site", payload, {}, NOW + timedelta(hours=1))
    payload["revision"] = 18
    (newer,) = generic(payload)
    assert again.event_id == first.event_id
    assert newer.doc_id == first.doc_id
    assert newer.event_id != first.event_id


def test_doc_ids_differ_by_source() -> None:
    payload = load_payload("generic_publish")
    (site,) = generic(payload)
    (other,) = to_change_events(CmsKind.GENERIC, "other", payload, {}, NOW)
    assert other.doc_id != site.doc_id
    assert other.source == "cms:other"


def test_integer_and_string_ids_of_the_same_value_are_the_same_document() -> None:
    (by_int,) = generic({"id": 7, "action": "delete", "revision": 1})
    (by_str,) = generic({"id": "7", "action": "delete", "revision": 1})
    assert by_int.doc_id == by_str.doc_id


def test_plain_text_defaults_to_text_plain_and_the_source_acl() -> None:
    (event,) = generic({"id": "a", "action": "publish", "revision": 1, "text": "hi"}, acl=("u",))
    assert event.content_type == "text/plain"
    assert event.acl == ("u",)


def test_a_delete_ignores_content() -> None:
    (event,) = generic({"id": "a", "action": "delete", "revision": 3, "html": "<p>gone</p>"})
    assert event.text is None
    assert event.content_type is None


def test_relative_images_resolve_against_the_source_base_url() -> None:
    payload = {"id": "a", "action": "publish", "revision": 1, "images": [{"url": "/i/a.png"}]}
    (event,) = generic(payload, base_url="https://cms.test/")
    assert event.assets == (Asset(uri="https://cms.test/i/a.png"),)


def test_a_relative_image_without_base_url_is_an_error_naming_the_fix() -> None:
    payload = {"id": "a", "action": "publish", "revision": 1, "images": [{"url": "/i/a.png"}]}
    with pytest.raises(PayloadError, match="set base_url in the config of source 'site'"):
        generic(payload)


def test_images_alone_are_enough_to_index() -> None:
    payload = {"id": "a", "action": "publish", "revision": 1, "images": [{"url": "https://x/a"}]}
    (event,) = generic(payload)
    assert event.text is None
    assert event.content_type is None
    assert len(event.assets) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, r"id"),
        ({"id": ""}, r"id"),
        ({"action": "publish-now"}, r"action: Input should be 'publish', 'update'"),
        ({"revision": "17"}, r"revision"),
        ({"revision": True}, r"revision"),
        ({"revision": -1}, r"revision"),
        ({"revision": None}, r"give revision \(an integer\) or updated_at"),
        ({"revision": None, "updated_at": "2026-11-25T12:00:00"}, r"updated_at.*timezone"),
        ({"html": "<p>x</p>"}, r"give html or text, not both"),
        ({"revison": 3}, r"revison: Extra inputs are not permitted"),
        ({"tags": "kafka"}, r"tags"),
        ({"images": [{"src": "x"}]}, r"images\.0\.url: Field required"),
    ],
)
def test_generic_errors_say_what_is_wrong(change: dict[str, Any], message: str) -> None:
    payload = {"id": "a", "action": "publish", "revision": 1, "text": "hello"} | change
    with pytest.raises(PayloadError, match=message) as raised:
        generic(payload)
    assert str(raised.value).startswith("not a valid generic event: ")


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"events: List should have at least 1 item"):
        generic({"events": []})


def test_errors_in_a_batch_name_the_event() -> None:
    batch = load_payload("generic_batch")
    del batch["events"][1]["revision"]
    with pytest.raises(PayloadError, match=r"events\.1: Value error, give revision"):
        generic(batch)


def test_an_upsert_with_nothing_to_index_is_refused() -> None:
    with pytest.raises(PayloadError, match="entry 'a' has nothing to index"):
        generic({"id": "a", "action": "publish", "revision": 1, "html": "<script>x</script>"})


def test_text_over_the_inline_limit_is_refused() -> None:
    text = "x" * (MAX_INLINE_TEXT_BYTES + 1)
    with pytest.raises(PayloadError, match=f"over the {MAX_INLINE_TEXT_BYTES} byte limit"):
        generic({"id": "a", "action": "publish", "revision": 1, "text": text})


def test_text_at_the_inline_limit_is_accepted() -> None:
    text = "é" * (MAX_INLINE_TEXT_BYTES // 2)
    (event,) = generic({"id": "a", "action": "publish", "revision": 1, "text": text})
    assert event.text == text


def test_contract_violations_become_payload_errors() -> None:
    payload = {"id": "a", "action": "publish", "revision": 1, "text": "x", "title": "t" * 5000}
    with pytest.raises(PayloadError, match=r"title: String should have at most 4096"):
        generic(payload)


def test_deeply_nested_bodies_are_payload_errors() -> None:
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(5000):
        node["entry"] = {}
        node = node["entry"]
    payload = {"event": "entry.publish", "model": "a", "entry": nested}
    with pytest.raises(PayloadError):
        to_change_events(CmsKind.STRAPI, "site", payload, {}, NOW)
