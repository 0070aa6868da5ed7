"""The change-event contract: what the indexer consumes, and what every producer writes.

One JSON object per Kafka record on ``mmrag.changes``, key = ``doc_id`` (UTF-8), so every
event of a document stays ordered in one partition. ``docs/events.md`` is the prose form of
this module for teams producing from other languages; keep both in step.

This module imports no ML code, so producers can use it cheaply.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

SCHEMA_VERSION: Literal["mmrag.change/1"] = "mmrag.change/1"
MAX_INLINE_TEXT_BYTES = 1_000_000
"""Inline text (CMS content) above this many UTF-8 bytes is refused: send a URI instead."""
MAX_EVENT_BYTES = 2_000_000
"""A serialised event above this size is refused before it is parsed."""

_EVENT_ID_NAMESPACE = uuid.UUID("5f0e8b4e-3c8e-4a4b-9a51-6d4b1d5d0c11")


class Operation(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"
    MOVE = "move"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone (use UTC, e.g. 2026-11-25T12:00:00Z)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
SourceName = Annotated[
    str,
    StringConstraints(min_length=3, max_length=200, pattern=r"^[a-z][a-z0-9_-]*:[^\s]+$"),
]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class Asset(BaseModel):
    """An image (or other binary) that belongs to a document and is indexed as its own part,
    e.g. a CMS entry's cover image. The indexer fetches it only from allowed hosts/schemes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: NonEmpty
    content_type: str | None = None
    alt_text: str | None = Field(default=None, max_length=4096)
    caption: str | None = Field(default=None, max_length=4096)


class DocumentMetadata(BaseModel):
    """Descriptive metadata; known fields are typed, anything else goes in ``extra``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(default=None, max_length=4096)
    tags: tuple[str, ...] = ()
    author: str | None = Field(default=None, max_length=1024)
    url: str | None = Field(default=None, max_length=4096)
    language: str | None = Field(default=None, max_length=35)
    size_bytes: int | None = Field(default=None, ge=0)
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class ChangeEvent(BaseModel):
    """One change to one document.

    ``revision`` is monotonic per document (file ``mtime_ns``; a CMS version number or its
    ``updated_at`` in epoch milliseconds); the indexer ignores an event whose revision is
    older than what it has, so replays and reordering are harmless.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["mmrag.change/1"] = Field(default=SCHEMA_VERSION, alias="schema")
    event_id: NonEmpty
    source: SourceName
    doc_id: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    op: Operation
    uri: NonEmpty
    new_uri: NonEmpty | None = None
    revision: int = Field(ge=0)
    content_type: str | None = Field(default=None, max_length=255)
    content_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    text: str | None = None
    assets: tuple[Asset, ...] = ()
    metadata: DocumentMetadata = Field(default_factory=DocumentMetadata)
    acl: tuple[str, ...] = ()
    """Principals (users or groups) allowed to read the document; empty means public."""
    emitted_at: UtcDatetime

    @model_validator(mode="after")
    def _operation_fields(self) -> ChangeEvent:
        if self.op is Operation.MOVE and self.new_uri is None:
            raise ValueError("a move needs new_uri")
        if self.op is not Operation.MOVE and self.new_uri is not None:
            raise ValueError("new_uri is only for moves")
        if self.op is Operation.DELETE and (self.text is not None or self.assets):
            raise ValueError("a delete carries no text or assets")
        if self.text is not None and len(self.text.encode()) > MAX_INLINE_TEXT_BYTES:
            raise ValueError(
                f"inline text is over {MAX_INLINE_TEXT_BYTES} bytes; send a uri instead"
            )
        return self

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    @property
    def key(self) -> bytes:
        """The Kafka record key: the document id, so a document's events stay in order."""
        return self.doc_id.encode()


class InvalidEvent(ValueError):
    """Bytes that are not a valid change event; ``reason`` says why, for the DLQ."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_change_event(raw: bytes | None) -> ChangeEvent:
    """Parse and validate one record's value, or raise :class:`InvalidEvent`."""
    if raw is None:
        raise InvalidEvent("empty record (a tombstone is not a change event)")
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event is {len(raw)} bytes, over the {MAX_EVENT_BYTES} byte limit")
    try:
        return ChangeEvent.model_validate_json(raw)
    except ValidationError as error:
        raise InvalidEvent(_describe(error)) from error


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "event"
        if item["type"] == "json_invalid":
            return f"not valid JSON: {item['msg']}"
        if item["loc"] == ("schema",) and item["type"] == "literal_error":
            problems.append(
                f"unknown schema version {item.get('input')!r} (expected {SCHEMA_VERSION!r})"
            )
            continue
        problems.append(f"{location}: {item['msg']}")
    return "; ".join(problems)


def derive_doc_id(source: str, key: str) -> str:
    """A stable document id from its source and its key there (path or CMS id).

    Readable prefix plus a hash: ``fs:docs:3f2a…``. The same inputs always give the same id,
    in any language: ``source + ':' + sha256(source + '\\n' + key)[:32]``.
    """
    digest = hashlib.sha256(f"{source}\n{key}".encode()).hexdigest()[:32]
    return f"{source}:{digest}"


def derive_event_id(source: str, doc_id: str, op: str, revision: int, extra: str = "") -> str:
    """A deterministic event id, so a redelivered webhook or a rescan gives the same id."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{source}|{doc_id}|{op}|{revision}|{extra}"))


def utc_now() -> datetime:
    return datetime.now(UTC)


def describe_fields() -> dict[str, Any]:
    """The JSON Schema of the contract (what ``mmrag events schema`` prints)."""
    return ChangeEvent.model_json_schema(by_alias=True)
