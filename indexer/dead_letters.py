"""Dead letters: what goes to ``mmrag.changes.dlq`` when an event or a document fails.

The record keeps the original bytes (base64) so nothing is lost, says why and where it
failed, and when. Producers (watcher, CMS ingress) and the worker all write this shape.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from indexer.events import utc_now

Stage = Literal["decode", "watch", "ingress", "extract", "encode", "store", "internal"]
"""Where it failed; ``internal`` is a bug of ours (the batch is dead-lettered, not lost)."""


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
