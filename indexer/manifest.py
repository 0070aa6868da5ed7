"""A document's manifest: what the index holds for it (revision, fields, chunk ids).

Kept in the worker's Faust table and mirrored in the ``mmrag-documents`` index; the diff of
an upsert is computed against it, and stale events are recognised by its revision.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from indexer.events import ChangeEvent, utc_now
from indexer.read_scope import declared_root


class DocumentFields(BaseModel):
    """Document-level fields copied onto every chunk (so that filters need no join)."""

    model_config = ConfigDict(frozen=True)

    source: str
    uri: str
    content_type: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()
    acl: tuple[str, ...] = ()
    author: str | None = None
    url: str | None = None
    root: str | None = None
    """The watched root a file-system document was read under (``indexer.read_scope``):
    where the thumbnail route may read it again. Kept in the manifest only."""

    @classmethod
    def from_event(cls, event: ChangeEvent, title: str | None = None) -> DocumentFields:
        return cls(
            source=event.source,
            uri=event.new_uri or event.uri,
            content_type=event.content_type,
            title=event.metadata.title or title,
            tags=event.metadata.tags,
            acl=event.acl,
            author=event.metadata.author,
            url=event.metadata.url,
            root=declared_root(event),
        )


class ChunkPosition(BaseModel):
    """Where a chunk sits in its document: updated in place when only this changes."""

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    modality: str
    order: int
    page: int | None = None
    section: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    bbox: tuple[float, float, float, float] | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    doc_id: str
    revision: int
    deleted: bool = False
    fields: DocumentFields | None = None
    content_sha256: str | None = None
    pipeline_version: str | None = None
    """Extraction and chunking settings the chunks were made with; a change re-chunks."""
    chunks: tuple[ChunkPosition, ...] = ()
    emitted_at: datetime | None = None
    indexed_at: datetime = Field(default_factory=utc_now)

    @property
    def chunk_ids(self) -> list[str]:
        return [chunk.chunk_id for chunk in self.chunks]

    def advanced(self, event: ChangeEvent, fields: DocumentFields) -> Manifest:
        """This manifest brought to ``event``'s revision and emission time with ``fields``
        (a move, or an upsert of unchanged content): the chunks stay as they are."""
        return self.model_copy(
            update={"revision": event.revision, "fields": fields, "emitted_at": event.emitted_at}
        )

    def without_chunks(self, chunk_ids: Set[str]) -> Manifest:
        """This manifest less the chunks ``chunk_ids`` (those that could not be stored)."""
        kept = tuple(chunk for chunk in self.chunks if chunk.chunk_id not in chunk_ids)
        return self.model_copy(update={"chunks": kept})
