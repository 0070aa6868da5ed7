"""WordPress posts → change events (stream.cms.wordpress)."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.events import Asset, ChangeEvent, Operation, derive_doc_id, derive_event_id
from stream.cms import CmsKind, PayloadError, to_change_events
from tests.unit.cms_payloads import NOW, load_payload

MODIFIED_MS = 1_795_271_400_000  # 2026-11-21T14:30:00 UTC (modified_gmt has no zone)


def wordpress(payload: dict[str, Any], **options: Any) -> ChangeEvent:
    (event,) = to_change_events(CmsKind.WORDPRESS, "blog", payload, {}, NOW, **options)
    return event


def test_published_post() -> None:
    event = wordpress(load_payload("wordpress_post_publish"))
    assert event.op is Operation.UPSERT
    assert event.doc_id == derive_doc_id("cms:blog", "post/1234")
    assert event.revision == MODIFIED_MS
    assert event.event_id == derive_event_id("cms:blog", event.doc_id, "upsert", MODIFIED_MS)
    assert event.uri == "https://blog.example.com/2026/11/20/kafka-for-search/"
    assert event.content_type == "text/html"
    assert event.text == (
        "We moved our indexer to Kafka last spring.\nThe setup\n"
        "Three brokers, one topic\nIt’s been “boring” ever since."
    )
    assert event.metadata.title == "Kafka for search: what we learned – part 1"
    assert event.metadata.tags == ("tag:12", "tag:19", "category:4")
    assert event.metadata.author == "Grace Hopper"
    assert event.metadata.url == event.uri
    assert event.metadata.extra == {"wordpress_type": "post"}


def test_featured_image_first_then_inline_images_resolved_against_the_link() -> None:
    event = wordpress(load_payload("wordpress_post_publish"))
    assert event.assets == (
        Asset(
            uri="https://blog.example.com/wp-content/uploads/2026/11/cover.jpg",
            content_type="image/jpeg",
            alt_text="Logs flowing into a search box",
            caption="Photo: the team",
        ),
        Asset(
            uri="https://blog.example.com/wp-content/uploads/2026/11/topology-1024x576.png",
            alt_text="Broker topology",
            caption="Three brokers, one topic",
        ),
    )


@pytest.mark.parametrize("status", ["trash", "draft", "private", "pending", "future"])
def test_unpublished_statuses_delete_the_post(status: str) -> None:
    published = wordpress(load_payload("wordpress_post_publish"))
    payload = load_payload("wordpress_post_publish")
    payload["status"] = status
    event = wordpress(payload)
    assert event.op is Operation.DELETE
    assert event.doc_id == published.doc_id
    assert event.text is None
    assert event.assets == ()
    assert event.event_id == derive_event_id("cms:blog", event.doc_id, "delete", MODIFIED_MS)


def test_password_protected_posts_are_deleted() -> None:
    payload = load_payload("wordpress_post_publish")
    payload["content"]["protected"] = True
    assert wordpress(payload).op is Operation.DELETE


@pytest.mark.parametrize("action", ["delete", "trash", "post_delete", "post_trash"])
def test_an_envelope_action_of_delete_or_trash_forces_a_delete(action: str) -> None:
    event = wordpress({"action": action, "post": load_payload("wordpress_post_publish")})
    assert event.op is Operation.DELETE
    assert event.doc_id == derive_doc_id("cms:blog", "post/1234")


def test_an_envelope_with_another_action_follows_the_status() -> None:
    event = wordpress({"action": "update", "post": load_payload("wordpress_post_publish")})
    assert event.op is Operation.UPSERT


def test_wp_webhooks_envelope_with_a_wp_post() -> None:
    event = wordpress(load_payload("wordpress_wp_webhooks_envelope"))
    assert event.op is Operation.UPSERT
    assert event.doc_id == derive_doc_id("cms:blog", "page/77")
    assert event.revision == 1_793_693_525_000  # "2026-11-03 08:12:05" UTC
    assert event.uri == "https://library.example.org/opening-hours/"
    assert event.text == (
        "Opening hours change in December.\nThe library closes at 4 pm on Fridays."
    )
    assert event.metadata.title == "Opening hours"
    assert event.metadata.author == "5"
    assert event.assets == (
        Asset(uri="https://library.example.org/wp-content/uploads/2026/10/hall.jpg"),
    )


def test_wp_post_in_the_trash_is_deleted() -> None:
    payload = load_payload("wordpress_wp_webhooks_envelope")
    payload["post"]["post_status"] = "trash"
    assert wordpress(payload).op is Operation.DELETE


def test_wp_post_with_a_password_is_deleted() -> None:
    payload = load_payload("wordpress_wp_webhooks_envelope")
    payload["post"]["post_password"] = "secret"
    assert wordpress(payload).op is Operation.DELETE


def test_the_excerpt_is_the_text_when_the_content_is_empty() -> None:
    payload = load_payload("wordpress_post_publish")
    payload["content"]["rendered"] = ""
    del payload["_embedded"]
    event = wordpress(payload)
    assert event.text == "We moved our indexer to Kafka last spring."
    assert event.metadata.author == "3"
    assert event.assets == ()


def test_relative_images_without_link_use_the_base_url() -> None:
    payload = load_payload("wordpress_post_publish")
    del payload["link"]
    del payload["_embedded"]
    event = wordpress(payload, base_url="https://wp.internal/")
    assert event.uri == "cms://blog/post/1234"
    assert event.assets[0].uri == (
        "https://wp.internal/wp-content/uploads/2026/11/topology-1024x576.png"
    )


def test_the_same_delivery_twice_gives_the_same_event_id() -> None:
    first = wordpress(load_payload("wordpress_post_publish"))
    again = wordpress(load_payload("wordpress_post_publish"))
    assert again.event_id == first.event_id


def test_an_edit_gives_a_newer_revision() -> None:
    payload = load_payload("wordpress_post_publish")
    payload["modified_gmt"] = "2026-11-21T14:30:01"
    assert wordpress(payload).revision == MODIFIED_MS + 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, "post id is missing"),
        ({"status": "inherit"}, "unknown post status 'inherit'"),
        ({"status": None}, "post status is missing"),
        ({"modified_gmt": None}, "post modified_gmt is missing"),
        ({"modified_gmt": "yesterday"}, "'yesterday' is not an ISO 8601 timestamp"),
        ({"type": ""}, "post type must be a non-empty string"),
        ({"tags": "12"}, "post tags must be a list of ids"),
    ],
)
def test_errors(change: dict[str, Any], message: str) -> None:
    payload = load_payload("wordpress_post_publish") | change
    with pytest.raises(PayloadError, match=message):
        wordpress(payload)


def test_an_envelope_whose_post_is_not_an_object_is_refused() -> None:
    with pytest.raises(PayloadError, match="post must be a JSON object, not a number"):
        wordpress({"action": "post_update", "post": 77})


def test_a_post_with_nothing_to_index_is_refused() -> None:
    payload = load_payload("wordpress_post_publish")
    payload["content"]["rendered"] = "<p> </p>"
    payload["excerpt"]["rendered"] = ""
    del payload["_embedded"]
    with pytest.raises(PayloadError, match="'post/1234' has nothing to index"):
        wordpress(payload)
