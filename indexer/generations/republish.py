"""Rebuilding a generation that chunks differently, the pure parts: the change event that
makes the worker read a document again (from its manifest), and what to do about one
document whose manifests differ between two chunking groups.

A generation that chunks differently cannot be copied from the live one (its chunk ids
differ), so it is filled through the normal event path: for every document, an upsert
with the revision the live group has indexed. The live group's pipeline sees a revision it
has (``stale``: nothing happens); the new group's pipeline has no manifest yet and
indexes the document with its own chunker (``indexer.generations.rechunk`` runs this).

Where the worker reads the document again:

    source                      event rebuilt from the manifest
    ──────────────────────────  ───────────────────────────────────────────────────────
    ``fs:*`` (the file watcher)  its uri, with the watched root and the path the watcher
                                 stamps (``metadata.extra``), so the worker may read it
    ``cms:*`` (inline text)      its text rebuilt from the live generation's stored chunk
                                 text (the CMS sent it inline; it cannot be fetched), as
                                 ``text/plain``: headings become plain lines until the
                                 CMS sends the entry's next revision
    any other source            its uri, as the source declared it (``MMRAG_SOURCE_ROOTS``)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from indexer.events import (
    MAX_INLINE_TEXT_BYTES,
    ChangeEvent,
    DocumentMetadata,
    Operation,
    derive_event_id,
)
from indexer.manifest import Manifest
from indexer.read_scope import CMS_PREFIX, FILE_SYSTEM_PREFIX

INLINE_CONTENT_TYPE = "text/plain"


@dataclass(frozen=True, order=True)
class DocumentState:
    """A document as one documents index has it: the two fields reconciling compares
    (ordered as the indexer orders events: revision, then a delete wins a tie)."""

    revision: int
    deleted: bool = False

    @classmethod
    def from_source(cls, source: Mapping[str, Any]) -> DocumentState:
        """From a documents-index hit's ``_source`` (``revision``, ``deleted``)."""
        return cls(int(source["revision"]), bool(source.get("deleted", False)))


class Action(StrEnum):
    IN_SYNC = "in_sync"
    """Both groups have this revision (or neither has the document)."""
    UPSERT = "upsert"
    """The new group lacks the live revision: publish the live manifest's upsert."""
    DELETE = "delete"
    """The live group deleted it, the new group has not: publish a delete (live revision)."""
    DELETE_EXTRA = "delete_extra"
    """The new group has a document the live group never had: publish its delete."""
    WAIT = "wait"
    """The new group is ahead (a live change the live group has not finished)."""


def decide(live: DocumentState | None, candidate: DocumentState | None) -> Action:
    """What brings the candidate group's document to the live group's state."""
    if live is None or live.deleted:
        if candidate is None or candidate.deleted:
            return Action.IN_SYNC
        if live is None:
            return Action.DELETE_EXTRA
        return Action.DELETE if candidate.revision <= live.revision else Action.WAIT
    if candidate is None or candidate < live:
        return Action.UPSERT
    return Action.IN_SYNC if candidate == live else Action.WAIT


def reads_inline(manifest: Manifest) -> bool:
    """Whether the document's content came inline (a CMS event) and so cannot be read
    again from its uri."""
    return manifest.fields is not None and manifest.fields.source.startswith(CMS_PREFIX)


@dataclass(frozen=True)
class TextSpan:
    """A stored text chunk's place in its document's extracted text."""

    char_start: int
    char_end: int
    text: str


def text_from_chunks(spans: Iterable[TextSpan]) -> str:
    """A document's extracted text again, from its chunks' slices: overlaps are taken
    once, gaps (between parts) become a blank line. Bounded to what an event may carry."""
    pieces: list[str] = []
    end = 0
    for span in sorted(spans, key=lambda s: (s.char_start, s.char_end)):
        if span.char_end <= end:
            continue
        if pieces and span.char_start > end:
            pieces.append("\n\n")
        pieces.append(span.text[max(0, end - span.char_start) :])
        end = span.char_end
    text = "".join(pieces)
    data = text.encode()
    if len(data) > MAX_INLINE_TEXT_BYTES:
        text = data[:MAX_INLINE_TEXT_BYTES].decode(errors="ignore")
    return text


def spans_of(chunk_sources: Iterable[Mapping[str, Any]]) -> list[TextSpan]:
    """The text spans of a document's stored chunks (chunk index ``_source``s); image
    chunks and chunks without offsets are left out."""
    return [
        TextSpan(int(source["char_start"]), int(source["char_end"]), str(source["text"]))
        for source in chunk_sources
        if source.get("modality") == "text"
        and source.get("char_start") is not None
        and source.get("char_end") is not None
        and source.get("text")
    ]


class NotRepublishable(ValueError):
    """A manifest without the fields an event needs (made by an old mmrag)."""


def upsert_event(
    manifest: Manifest,
    *,
    emitted_at: datetime,
    salt: str,
    text: str | None = None,
) -> ChangeEvent:
    """The upsert that makes a worker index ``manifest``'s document again at its revision
    (see the module docstring); ``text``: the rebuilt content of an inline document;
    ``salt`` makes its event id differ from the original's (``rechunk:<generation>:<n>``)."""
    fields = manifest.fields
    if fields is None or manifest.deleted:
        raise NotRepublishable(f"{manifest.doc_id}: no fields to rebuild its event from")
    extra: dict[str, str | int | float | bool | None] = {}
    title = fields.title
    if fields.source.startswith(FILE_SYSTEM_PREFIX) and fields.root is not None:
        path = _relative(fields.uri, fields.root)
        extra = {"root": fields.root, "path": path} if path is not None else {"root": fields.root}
        title = None  # as the watcher: the document's own title, else its file name
    metadata = DocumentMetadata(
        title=title,
        tags=fields.tags,
        author=fields.author,
        url=fields.url,
        extra=extra,
    )
    inline = text is not None
    return ChangeEvent(
        event_id=derive_event_id(
            fields.source, manifest.doc_id, Operation.UPSERT.value, manifest.revision, salt
        ),
        source=fields.source,
        doc_id=manifest.doc_id,
        op=Operation.UPSERT,
        uri=fields.uri,
        revision=manifest.revision,
        content_type=INLINE_CONTENT_TYPE if inline else fields.content_type,
        content_sha256=None if inline else manifest.content_sha256,
        text=text,
        metadata=metadata,
        acl=fields.acl,
        emitted_at=emitted_at,
    )


def delete_event(
    manifest: Manifest, revision: int, *, emitted_at: datetime, salt: str
) -> ChangeEvent:
    """A delete of ``manifest``'s document at ``revision`` (a delete wins a revision tie,
    so the live revision deletes what the new group indexed at that revision)."""
    fields = manifest.fields
    if fields is None:
        raise NotRepublishable(f"{manifest.doc_id}: no fields to rebuild its event from")
    return ChangeEvent(
        event_id=derive_event_id(
            fields.source, manifest.doc_id, Operation.DELETE.value, revision, salt
        ),
        source=fields.source,
        doc_id=manifest.doc_id,
        op=Operation.DELETE,
        uri=fields.uri,
        revision=revision,
        content_type=fields.content_type,
        acl=fields.acl,
        emitted_at=emitted_at,
    )


def _relative(uri: str, root: str) -> str | None:
    """``uri``'s path under ``root`` (POSIX), or ``None`` when it is not under it."""
    parsed = urlparse(uri)
    path = PurePosixPath(unquote(parsed.path) if parsed.scheme == "file" else uri)
    try:
        return path.relative_to(PurePosixPath(root)).as_posix()
    except ValueError:
        return None


@dataclass
class Pending:
    """When each out-of-sync document was first seen so and last published, so that a
    document is published again only after ``grace_s`` (a live change may be on its way)
    and at most ``max_attempts`` times (then it is reported, not retried forever)."""

    grace_s: float
    max_attempts: int = 3
    first_seen: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)

    def due(self, doc_id: str, now: float) -> bool:
        """Whether to publish for ``doc_id`` now (it is out of sync at ``now``)."""
        seen = self.first_seen.setdefault(doc_id, now)
        if self.attempts.get(doc_id, 0) >= self.max_attempts:
            return False
        since = max(seen, self.published.get(doc_id, float("-inf")))
        return now - since >= self.grace_s

    def mark_published(self, doc_id: str, now: float) -> None:
        self.published[doc_id] = now
        self.attempts[doc_id] = self.attempts.get(doc_id, 0) + 1

    def settled(self, doc_id: str) -> None:
        """``doc_id`` is in sync: forget it."""
        self.first_seen.pop(doc_id, None)
        self.published.pop(doc_id, None)
        self.attempts.pop(doc_id, None)

    def given_up(self) -> list[str]:
        """Documents published ``max_attempts`` times that are still out of sync."""
        return sorted(
            d for d, n in self.attempts.items() if n >= self.max_attempts and d in self.first_seen
        )


@dataclass(frozen=True)
class ChunkCheck:
    """What one document's chunks in a generation need to match its group's manifest."""

    delete: tuple[str, ...] = ()
    """Chunks no manifest names, written for this revision or an older one."""
    reset: bool = False
    """Chunks the manifest names are missing: drop the manifest so that the document is
    indexed again (the pipeline would otherwise keep them as unchanged)."""
    changing: bool = False
    """Its manifest changed while it was checked: look again later."""


def check_document(
    before: Manifest | None,
    after: Manifest | None,
    held: Mapping[str, Mapping[str, Any]],
    live: DocumentState | None,
) -> ChunkCheck:
    """``before`` and ``after``: the document's manifest in the generation's group read
    before and after its chunks ``held`` (chunk id → source, with ``revision``); ``live``:
    the document in the live group. A document whose manifest changed meanwhile is being
    written: it is left for the next pass; a chunk of a newer revision than the manifest
    belongs to a write in flight and is never deleted."""
    if _state_of(before) != _state_of(after):
        return ChunkCheck(changing=True)
    if after is None:  # chunks without a manifest: stale once the live group is past them
        if live is not None and not live.deleted:
            return ChunkCheck()  # being indexed, or reconciling publishes it
        floor = live.revision if live is not None else None
        return ChunkCheck(
            tuple(sorted(c for c, s in held.items() if floor is None or _revision(s) <= floor))
        )
    wanted = set() if after.deleted else set(after.chunk_ids)
    delete = sorted(
        chunk_id
        for chunk_id, source in held.items()
        if chunk_id not in wanted and _revision(source) <= after.revision
    )
    return ChunkCheck(tuple(delete), reset=bool(wanted - set(held)))


def _state_of(manifest: Manifest | None) -> DocumentState | None:
    return DocumentState(manifest.revision, manifest.deleted) if manifest is not None else None


def _revision(source: Mapping[str, Any]) -> int:
    value = source.get("revision")
    return int(value) if value is not None else 0
