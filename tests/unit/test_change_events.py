from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from indexer.events import (
    MAX_EVENT_BYTES,
    MAX_INLINE_TEXT_BYTES,
    ChangeEvent,
    InvalidEvent,
    Operation,
    decode_change_event,
    derive_doc_id,
    derive_event_id,
)


def _event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema": "mmrag.change/1",
        "event_id": "e-1",
        "source": "fs:docs",
        "doc_id": "fs:docs:abc",
        "op": "upsert",
        "uri": "file:///srv/docs/a.md",
        "revision": 1732500000000000000,
        "content_type": "text/markdown",
        "emitted_at": "2026-11-25T12:00:00Z",
    }
    event.update(overrides)
    return event


def _raw(**overrides: Any) -> bytes:
    return json.dumps(_event(**overrides)).encode()


def test_valid_event_round_trips_through_json() -> None:
    event = decode_change_event(_raw(metadata={"title": "A", "tags": ["x"]}, acl=["team-a"]))
    assert event.op is Operation.UPSERT
    assert event.key == b"fs:docs:abc"
    assert event.emitted_at == datetime(2026, 11, 25, 12, tzinfo=UTC)
    again = decode_change_event(event.to_json_bytes())
    assert again == event
    assert json.loads(event.to_json_bytes())["schema"] == "mmrag.change/1"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (_raw(schema="mmrag.change/9"), "unknown schema version 'mmrag.change/9'"),
        (_raw(op="rename"), "op: Input should be 'upsert', 'delete' or 'move'"),
        (_raw(revision=-1), "revision: Input should be greater than or equal to 0"),
        (_raw(source="no-colon"), "source: String should match pattern"),
        (_raw(emitted_at="2026-11-25T12:00:00"), "must carry a time zone"),
        (_raw(op="move"), "a move needs new_uri"),
        (_raw(new_uri="file:///x"), "new_uri is only for moves"),
        (_raw(op="delete", text="left over"), "a delete carries no text or assets"),
        (_raw(surprise=1), "surprise: Extra inputs are not permitted"),
        (None, "tombstone"),
    ],
)
def test_invalid_events_are_refused_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_change_event(raw)
    assert reason in caught.value.reason


def test_missing_fields_are_each_named() -> None:
    event = _event()
    del event["doc_id"], event["revision"]
    with pytest.raises(InvalidEvent) as caught:
        decode_change_event(json.dumps(event).encode())
    assert "doc_id: Field required" in caught.value.reason
    assert "revision: Field required" in caught.value.reason


def test_oversize_events_and_inline_text_are_refused() -> None:
    with pytest.raises(InvalidEvent, match="over the"):
        decode_change_event(b" " * (MAX_EVENT_BYTES + 1))
    with pytest.raises(InvalidEvent, match="inline text is over"):
        decode_change_event(_raw(text="x" * (MAX_INLINE_TEXT_BYTES + 1)))


def test_move_carries_new_uri() -> None:
    event = decode_change_event(_raw(op="move", new_uri="file:///srv/docs/b.md"))
    assert event.op is Operation.MOVE
    assert event.new_uri == "file:///srv/docs/b.md"


def test_doc_id_is_stable_readable_and_distinct() -> None:
    first = derive_doc_id("fs:docs", "guides/a.md")
    assert first == derive_doc_id("fs:docs", "guides/a.md")
    assert first.startswith("fs:docs:")
    assert len(first) == len("fs:docs:") + 32
    assert first != derive_doc_id("fs:docs", "guides/b.md")
    assert first != derive_doc_id("fs:other", "guides/a.md")


def test_doc_id_formula_is_the_documented_one() -> None:
    import hashlib

    expected = hashlib.sha256(b"cms:blog\n42").hexdigest()[:32]
    assert derive_doc_id("cms:blog", "42") == f"cms:blog:{expected}"


def test_event_ids_are_deterministic_per_change() -> None:
    one = derive_event_id("fs:d", "doc", "upsert", 5)
    assert one == derive_event_id("fs:d", "doc", "upsert", 5)
    assert one != derive_event_id("fs:d", "doc", "upsert", 6)
    assert one != derive_event_id("fs:d", "doc", "delete", 5)


def test_events_are_immutable() -> None:
    event = ChangeEvent.model_validate(_event())
    with pytest.raises(ValueError, match="frozen"):
        event.revision = 2  # type: ignore[misc]
