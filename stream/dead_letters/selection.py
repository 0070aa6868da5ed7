"""Which dead letters can go back onto a change topic (pure).

A letter is replayable when it holds the original change event the worker could not index:
stages ``fetch``, ``extract``, ``encode``, ``store`` and ``internal`` (a remote source that
was down, a bad file since fixed, a backend or a bug of ours). ``decode`` letters are
malformed events, which would fail the same way again; ``watch`` and ``ingress`` letters
hold no change event. A letter may come from the live or the backfill change topic; the
replay goes to the backfill topic. Replaying is safe: an event older than what the index
holds comes out ``stale`` and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from indexer.dead_letters import DeadLetter, Stage
from indexer.events import ChangeEvent, InvalidEvent, decode_change_event

REPLAYABLE_STAGES: frozenset[Stage] = frozenset({"fetch", "extract", "encode", "store", "internal"})


@dataclass(frozen=True)
class StoredLetter:
    """A record of the dead-letter topic: the letter, or why it could not be read."""

    partition: int
    offset: int
    letter: DeadLetter | None
    problem: str | None = None


@dataclass(frozen=True)
class Replay:
    letter: StoredLetter
    event: ChangeEvent
    """The original event, decoded from the bytes the worker received."""

    @property
    def key(self) -> bytes:
        return self.event.key


@dataclass(frozen=True)
class Refusal:
    letter: StoredLetter
    reason: str


def parse_letter(partition: int, offset: int, value: bytes | None) -> StoredLetter:
    if value is None:
        return StoredLetter(partition, offset, None, "empty record")
    try:
        return StoredLetter(partition, offset, DeadLetter.model_validate(json.loads(value)))
    except (ValueError, ValidationError) as error:
        return StoredLetter(partition, offset, None, f"not a dead letter: {error}".strip())


def plan_replay(
    letters: Iterable[StoredLetter],
    change_topics: str | Collection[str],
    stages: frozenset[Stage] | None = None,
) -> tuple[list[Replay], list[Refusal]]:
    """Split ``letters`` into what is sent again and what is not (with the reason): a
    letter qualifies when its original came from one of ``change_topics`` (the live and
    backfill topics). ``stages`` narrows the replayable stages."""
    topics = (change_topics,) if isinstance(change_topics, str) else tuple(change_topics)
    wanted = REPLAYABLE_STAGES if stages is None else stages & REPLAYABLE_STAGES
    replays: list[Replay] = []
    refusals: list[Refusal] = []
    for stored in letters:
        verdict = _verdict(stored, topics, wanted)
        if isinstance(verdict, str):
            refusals.append(Refusal(stored, verdict))
        else:
            replays.append(Replay(stored, verdict))
    return replays, refusals


def _verdict(
    stored: StoredLetter, change_topics: tuple[str, ...], wanted: frozenset[Stage]
) -> ChangeEvent | str:
    """The original event, or why the letter is not replayed."""
    letter = stored.letter
    if letter is None:
        return stored.problem or "unreadable"
    if letter.stage not in wanted:
        if letter.stage in REPLAYABLE_STAGES:
            return f"stage {letter.stage} not selected"
        return f"stage {letter.stage} holds no indexable change event"
    if letter.original_topic is not None and letter.original_topic not in change_topics:
        return f"came from topic {letter.original_topic}, not {' or '.join(change_topics)}"
    try:
        original = letter.original_bytes()
    except ValueError:
        return "original_base64 is not base64"
    if original is None:
        return "no original event kept"
    try:
        return decode_change_event(original)
    except InvalidEvent as error:
        return f"original is not a valid change event: {error.reason}"
