"""Which dead letters go back onto the changes topic, and why the others do not."""

from __future__ import annotations

import json

from indexer.dead_letters import DeadLetter, Stage
from indexer.events import decode_change_event
from stream.dead_letters.selection import StoredLetter, parse_letter, plan_replay

TOPIC = "mmrag.changes"
EVENT = json.dumps(
    {
        "schema": "mmrag.change/1",
        "event_id": "e-1",
        "source": "fs:docs",
        "doc_id": "fs:docs:abc",
        "op": "upsert",
        "uri": "file:///srv/docs/a.pdf",
        "revision": 1732500000000000000,
        "emitted_at": "2026-11-25T12:00:00Z",
    }
).encode()


def stored(offset: int, stage: Stage, original: bytes | None = EVENT, **extra: str) -> StoredLetter:
    letter = DeadLetter(
        stage=stage,
        reason="why",
        original_base64=DeadLetter.encode_original(original),
        original_topic=extra.get("topic", TOPIC),
        original_key="fs:docs:abc",
    )
    return parse_letter(0, offset, letter.to_json_bytes())


def test_letters_holding_an_event_the_worker_failed_on_are_replayed_with_their_key() -> None:
    letters = [stored(0, "extract"), stored(1, "internal"), stored(2, "store")]
    replays, refusals = plan_replay(letters, TOPIC)
    original = decode_change_event(EVENT)
    assert [(r.letter.offset, r.key, r.event) for r in replays] == [
        (0, b"fs:docs:abc", original),
        (1, b"fs:docs:abc", original),
        (2, b"fs:docs:abc", original),
    ]
    assert refusals == []


def test_each_refusal_says_why() -> None:
    letters = [
        stored(0, "decode", b'{"op": "x"}'),
        stored(1, "watch", None),
        stored(2, "extract", None),
        stored(3, "extract", b"not json"),
        stored(4, "extract", topic="other.topic"),
        parse_letter(0, 5, b"garbage"),
        parse_letter(0, 6, None),
    ]
    replays, refusals = plan_replay(letters, TOPIC)
    assert replays == []
    reasons = [refusal.reason for refusal in refusals]
    assert reasons[0] == "stage decode holds no indexable change event"
    assert reasons[1] == "stage watch holds no indexable change event"
    assert reasons[2] == "no original event kept"
    assert reasons[3].startswith("original is not a valid change event")
    assert reasons[4] == "came from topic other.topic, not mmrag.changes"
    assert reasons[5].startswith("not a dead letter")
    assert reasons[6] == "empty record"


def test_stages_narrow_the_selection_but_never_widen_it() -> None:
    letters = [stored(0, "extract"), stored(1, "internal"), stored(2, "decode", b"{}")]
    replays, refusals = plan_replay(letters, TOPIC, frozenset({"internal", "decode"}))
    assert [r.letter.offset for r in replays] == [1]
    assert [r.reason for r in refusals] == [
        "stage extract not selected",
        "stage decode holds no indexable change event",
    ]


def test_letters_from_either_change_topic_are_replayed_and_others_refused() -> None:
    letters = [
        stored(0, "extract", topic=TOPIC),
        stored(1, "extract", topic="mmrag.changes.backfill"),
        stored(2, "extract", topic="someone.else"),
    ]
    replays, refusals = plan_replay(letters, (TOPIC, "mmrag.changes.backfill"))
    assert [r.letter.offset for r in replays] == [0, 1]
    assert [(r.letter.offset, r.reason) for r in refusals] == [
        (2, "came from topic someone.else, not mmrag.changes or mmrag.changes.backfill")
    ]
