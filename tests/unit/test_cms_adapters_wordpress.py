"""WordPress posts → change events (stream.cms.wordpress)."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.documents import ExtractedDocument
from indexer.events import Asset, ChangeEvent, Operation, derive_doc_id, derive_event_id
from indexer.extract import extract_document
from indexer.folding import fold_events
from indexer.manifest import Manifest
from stream.cms import CmsKind, PayloadError, to_change_events
from stream.cms.revisions import RevisionSequencer
from tests.unit.cms_payloads import NOW, load_payload

MODIFIED_MS = 1_795_271_400_000  # 2026-11-21T14:30:00 UTC (modified_gmt has no zone)
REVISION = MODIFIED_MS * 1000  # the first change seen within that second


def wordpress(payload: dict[str, Any], **options: Any) -> ChangeEvent:
    (event,) = to_change_events(CmsKind.WORDPRESS, "blog", payload, {}, NOW, **options)
    return event


def indexed(event: ChangeEvent) -> ExtractedDocument:
    """What the worker extracts from the event's inline text."""
    assert event.text is not None
    return extract_document(event.text.encode(), event.content_type)


def test_published_post() -> None:
    event = wordpress(load_payload("wordpress_post_publish"))
    assert event.op is Operation.UPSERT
    assert event.doc_id == derive_doc_id("cms:blog", "post/1234")
    assert event.revision == REVISION
    assert event.event_id == derive_event_id("cms:blog", event.doc_id, "upsert", REVISION)
    assert event.uri == "https://blog.example.com/2026/11/20/kafka-for-search/"
    assert event.content_type == "text/html"
    document = indexed(event)
    assert [part.section for part in document.text_parts] == [None, "The setup"]
    assert document.full_text == (
        "We moved our indexer to Kafka last spring.\n\nThe setup\n\n"
        "Three brokers, one topic\n\nIt’s been “boring” ever since."
    )
    assert event.metadata.title == "Kafka for search: what we learned – part 1"
    assert event.metadata.tags == ("tag:12", "tag:19", "category:4")
    assert event.metadata.author == "Grace Hopper"
    assert event.metadata.url == event.uri
    assert event.metadata.extra == {"wordpress_type": "post"}


def test_featured_image_is_an_asset_and_inline_images_are_resolved_in_the_html() -> None:
    event = wordpress(load_payload("wordpress_post_publish"))
    assert event.assets == (
        Asset(
            uri="https://blog.example.com/wp-content/uploads/2026/11/cover.jpg",
            content_type="image/jpeg",
            alt_text="Logs flowing into a search box",
            caption="Photo: the team",
        ),
    )
    (image,) = indexed(event).image_parts
    assert image.reference == (
        "https://blog.example.com/wp-content/uploads/2026/11/topology-1024x576.png"
    )
    assert (image.alt_text, image.caption) == ("Broker topology", "Three brokers, one topic")


def test_escaped_code_and_headings_survive_to_the_worker() -> None:
    payload = load_payload("wordpress_post_publish")
    payload["content"]["rendered"] = (
        "<p>Intro.</p><h2>Install</h2><p>Add the tag:</p>"
        "<pre class='wp-block-code'><code>&lt;script src=\"app.js\"&gt;&lt;/script&gt;</code></pre>"
        "<h2>Use</h2><p>Call <code>start()</code>.</p>"
    )
    document = indexed(wordpress(payload))
    assert [(part.section, part.text) for part in document.text_parts] == [
        (None, "Intro."),
        ("Install", 'Install\n\nAdd the tag:\n\n<script src="app.js"></script>'),
        ("Use", "Use\n\nCall start()."),
    ]


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
    assert event.event_id == derive_event_id("cms:blog", event.doc_id, "delete", REVISION)


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
    assert event.revision == 1_793_693_525_000 * 1000  # "2026-11-03 08:12:05" UTC
    assert event.uri == "https://library.example.org/opening-hours/"
    assert event.content_type == "text/html"
    assert indexed(event).full_text == (
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
    assert indexed(event).full_text == "We moved our indexer to Kafka last spring."
    assert event.metadata.author == "3"
    assert event.assets == ()


def test_the_excerpt_comes_before_the_images_of_a_content_without_text() -> None:
    payload = load_payload("wordpress_post_publish")
    payload["content"]["rendered"] = "<figure><img src='/gallery/1.jpg' alt='One'></figure>"
    document = indexed(wordpress(payload))
    assert document.full_text == "We moved our indexer to Kafka last spring."
    assert [image.reference for image in document.image_parts] == [
        "https://blog.example.com/gallery/1.jpg"
    ]


def test_relative_images_without_link_use_the_base_url() -> None:
    payload = load_payload("wordpress_post_publish")
    del payload["link"]
    del payload["_embedded"]
    event = wordpress(payload, base_url="https://wp.internal/")
    assert event.uri == "cms://blog/post/1234"
    assert [image.reference for image in indexed(event).image_parts] == [
        "https://wp.internal/wp-content/uploads/2026/11/topology-1024x576.png"
    ]


def test_relative_images_with_nothing_to_resolve_them_against_are_refused() -> None:
    payload = load_payload("wordpress_post_publish")
    del payload["link"]
    with pytest.raises(PayloadError, match="set base_url"):
        wordpress(payload)


def test_the_same_delivery_twice_gives_the_same_event_id() -> None:
    first = wordpress(load_payload("wordpress_post_publish"))
    again = wordpress(load_payload("wordpress_post_publish"))
    assert again.event_id == first.event_id


def test_an_edit_gives_a_newer_revision() -> None:
    payload = load_payload("wordpress_post_publish")
    payload["modified_gmt"] = "2026-11-21T14:30:01"
    assert wordpress(payload).revision == (MODIFIED_MS + 1000) * 1000


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


# --- edits and deletes within one second (modified_gmt counts seconds) --------------------


def test_two_edits_within_one_second_get_ordered_revisions_and_distinct_ids() -> None:
    revisions = RevisionSequencer()
    first = load_payload("wordpress_post_publish")
    quick_edit = load_payload("wordpress_post_publish")
    quick_edit["title"]["rendered"] = "Kafka for search: what we learned – part 2"
    edited = wordpress(first, revisions=revisions)
    edited_again = wordpress(quick_edit, revisions=revisions)
    assert edited.revision == REVISION
    assert edited_again.revision == REVISION + 1
    assert edited_again.event_id != edited.event_id
    redelivered = wordpress(load_payload("wordpress_post_publish"), revisions=revisions)
    assert (redelivered.revision, redelivered.event_id) == (edited.revision, edited.event_id)


def test_a_delete_in_the_second_of_the_last_save_comes_after_it() -> None:
    revisions = RevisionSequencer()
    upsert = wordpress(load_payload("wordpress_post_publish"), revisions=revisions)
    deleted = wordpress(
        {"action": "post_delete", "post": load_payload("wordpress_post_publish")},
        revisions=revisions,
    )
    assert deleted.op is Operation.DELETE
    assert deleted.revision > upsert.revision
    steps = fold_events([upsert, deleted], None)
    assert [step.action for step in steps] == ["superseded", "delete"]


def test_without_memory_a_delete_of_the_same_second_still_wins_over_the_indexed_post() -> None:
    upsert = wordpress(load_payload("wordpress_post_publish"))  # e.g. before a restart
    deleted = wordpress({"action": "post_delete", "post": load_payload("wordpress_post_publish")})
    assert deleted.revision == upsert.revision
    indexed_post = Manifest(doc_id=upsert.doc_id, revision=upsert.revision)
    assert [step.action for step in fold_events([deleted], indexed_post)] == ["delete"]


def test_the_sequencer_forgets_the_oldest_timestamps_beyond_its_capacity() -> None:
    revisions = RevisionSequencer(capacity=1)
    assert revisions.position("d", 1, "a") == 0
    assert revisions.position("d", 1, "b") == 1
    assert revisions.position("d", 2, "a") == 0  # pushes out timestamp 1
    assert revisions.position("d", 1, "b") == 0
