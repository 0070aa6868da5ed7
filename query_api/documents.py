"""``GET /documents/{doc_id}``: a document's manifest, as the caller may see it."""

from __future__ import annotations

from elasticsearch import AsyncElasticsearch

from indexer.manifest import Manifest
from indexer.store.errors import ELASTICSEARCH_ERRORS, failure_reason, is_missing
from indexer.store.records import manifest_from_source
from query_api.access import Caller, may_read
from query_api.errors import NotFound, ServiceUnavailable
from query_api.schemas import ChunkSummary, DocumentResponse


def document_response(manifest: Manifest) -> DocumentResponse:
    """The wire form of a manifest (pure)."""
    fields = manifest.fields
    return DocumentResponse(
        doc_id=manifest.doc_id,
        revision=manifest.revision,
        status="deleted" if manifest.deleted else "indexed",
        uri=fields.uri if fields else None,
        source=fields.source if fields else None,
        title=fields.title if fields else None,
        content_sha256=manifest.content_sha256,
        indexed_at=manifest.indexed_at,
        chunks=[
            ChunkSummary(
                chunk_id=position.chunk_id,
                modality=position.modality,
                order=position.order,
                page=position.page,
                section=position.section,
            )
            for position in manifest.chunks
        ],
    )


async def load_document(
    client: AsyncElasticsearch, documents_index: str, doc_id: str, caller: Caller
) -> DocumentResponse:
    """The manifest, or 404 when unknown *or* not readable by the caller (no leak)."""
    try:
        response = await client.get(index=documents_index, id=doc_id, source=["manifest"])
    except ELASTICSEARCH_ERRORS as error:
        if is_missing(error):
            raise NotFound(f"no document {doc_id!r}") from error
        raise ServiceUnavailable(failure_reason(error, f"reading document {doc_id!r}")) from error
    manifest = manifest_from_source(response["_source"])
    acl = manifest.fields.acl if manifest.fields else ()
    if not may_read(acl, caller):
        raise NotFound(f"no document {doc_id!r}")
    return document_response(manifest)
