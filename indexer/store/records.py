"""What the store writes: chunk documents and manifests as Elasticsearch sources (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from indexer.chunks import Chunk
from indexer.manifest import ChunkPosition, DocumentFields, Manifest


@dataclass(frozen=True)
class ChunkOperation:
    action: Literal["index", "update", "delete"]
    chunk_id: str
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentWrite:
    """Everything one document's change writes; the manifest goes last, once every chunk
    operation succeeded, so a manifest never claims chunks that are not there."""

    doc_id: str
    operations: list[ChunkOperation]
    manifest: Manifest


def position_fields(position: ChunkPosition) -> dict[str, Any]:
    return {
        "order": position.order,
        "page": position.page,
        "section": position.section,
        "char_start": position.char_start,
        "char_end": position.char_end,
        "bbox": list(position.bbox) if position.bbox is not None else None,
    }


def document_fields(fields: DocumentFields, revision: int) -> dict[str, Any]:
    return {
        "source": fields.source,
        "uri": fields.uri,
        "url": fields.url,
        "title": fields.title,
        "author": fields.author,
        "tags": list(fields.tags),
        "acl": list(fields.acl),
        "content_type": fields.content_type,
        "revision": revision,
    }


def chunk_source(
    chunk: Chunk,
    *,
    doc_id: str,
    fields: DocumentFields,
    revision: int,
    text_vector: list[float] | None,
    clip_vector: list[float] | None,
    ocr_text: str | None = None,
    text_model: str,
    clip_model: str | None,
    emitted_at: datetime | None,
    indexed_at: datetime,
) -> dict[str, Any]:
    source: dict[str, Any] = {
        "chunk_id": chunk.chunk_id,
        "doc_id": doc_id,
        "modality": chunk.modality.value,
        "text": chunk.text,
        "context": chunk.context,
        "ocr_text": ocr_text,
        "image_sha256": chunk.image_sha256,
        "image_reference": chunk.image.reference if chunk.image is not None else None,
        "image_index": chunk.image.index if chunk.image is not None else None,
        "text_model": text_model if text_vector is not None else None,
        "clip_model": clip_model if clip_vector is not None else None,
        "emitted_at": emitted_at.isoformat() if emitted_at else None,
        "indexed_at": indexed_at.isoformat(),
        **position_fields(chunk.position),
        **document_fields(fields, revision),
    }
    if text_vector is not None:
        source["text_vector"] = text_vector
    if clip_vector is not None:
        source["clip_vector"] = clip_vector
    return {key: value for key, value in source.items() if value is not None}


def manifest_source(manifest: Manifest) -> dict[str, Any]:
    return {
        "doc_id": manifest.doc_id,
        "revision": manifest.revision,
        "deleted": manifest.deleted,
        "source": manifest.fields.source if manifest.fields else None,
        "uri": manifest.fields.uri if manifest.fields else None,
        "content_sha256": manifest.content_sha256,
        "chunk_count": len(manifest.chunks),
        "indexed_at": manifest.indexed_at.isoformat(),
        "manifest": manifest.model_dump(mode="json"),
    }


def manifest_from_source(source: dict[str, Any]) -> Manifest:
    return Manifest.model_validate(source["manifest"])
