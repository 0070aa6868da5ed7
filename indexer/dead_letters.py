"""Dead letters: what goes to ``mmrag.changes.dlq`` when an event or a document fails.

The record keeps the original bytes (base64) so nothing is lost, says why and where it
failed, and when. Producers (watcher, CMS ingress) and the worker all write this shape.
A letter that would not fit the topic's record limit is cut down by :func:`fit_dead_letter`
(the reason is shortened, then the original left out with a note saying where it still is)
rather than refused by Kafka and lost.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from indexer.events import utc_now

Stage = Literal["decode", "watch", "ingress", "fetch", "extract", "encode", "store", "internal"]
"""Where it failed: ``fetch`` (a remote source kept failing), ``extract``, ``encode``,
``store`` (one document), ``internal`` (a bug of ours, for the documents it hit)."""

REASON_LIMIT = 8 * 1024
"""Characters of a reason kept when a letter has to be cut down to fit."""


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["mmrag.dead-letter/1"] = Field(default="mmrag.dead-letter/1", alias="schema")
    stage: Stage
    reason: str
    source: str | None = None
    doc_id: str | None = None
    uri: str | None = None
    original_base64: str | None = None
    original_topic: str | None = None
    original_partition: int | None = None
    original_offset: int | None = None
    original_key: str | None = None
    failed_at: datetime = Field(default_factory=utc_now)

    @staticmethod
    def encode_original(raw: bytes | None) -> str | None:
        return None if raw is None else base64.b64encode(raw).decode("ascii")

    def original_bytes(self) -> bytes | None:
        return None if self.original_base64 is None else base64.b64decode(self.original_base64)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def fit_dead_letter(letter: DeadLetter, max_bytes: int) -> DeadLetter:
    """``letter`` as it can be written in at most ``max_bytes`` of JSON: unchanged when it
    fits; else with its reason cut to :data:`REASON_LIMIT` characters, then without its
    original (the reason then says how large it was and where it still lies)."""
    if len(letter.to_json_bytes()) <= max_bytes:
        return letter
    reason = letter.reason
    if len(reason) > REASON_LIMIT:
        reason = f"{reason[:REASON_LIMIT]}… [reason cut from {len(reason)} characters]"
        letter = letter.model_copy(update={"reason": reason})
        if len(letter.to_json_bytes()) <= max_bytes:
            return letter
    original = letter.original_bytes()
    size = len(original) if original is not None else 0
    where = (
        f"{letter.original_topic}:{letter.original_partition}:{letter.original_offset}"
        if letter.original_topic is not None
        else "nowhere else"
    )
    note = (
        f" [original event of {size} bytes left out: the letter would exceed the "
        f"{max_bytes}-byte record limit; the event is still at {where}]"
    )
    return letter.model_copy(update={"reason": reason + note, "original_base64": None})
