"""Helpers for integration tests that drive ``IndexingPipeline`` directly: an upsert event
for a local file, as the watcher would send it, and cleanup of a test's indexes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch

from indexer.events import ChangeEvent, Operation, derive_doc_id
from indexer.outcomes import BatchResult, EventOutcome
from indexer.settings import IndexerSettings


def file_upsert(
    path: Path, source: str, content_type: str = "text/markdown", **fields: Any
) -> ChangeEvent:
    """Revision 1 of ``path`` from ``source``; ``fields`` set anything else (metadata, acl)."""
    uri = path.as_uri()
    return ChangeEvent(
        event_id=f"e-{path.name}",
        source=source,
        doc_id=derive_doc_id(source, uri),
        op=Operation.UPSERT,
        uri=uri,
        revision=1,
        content_type=content_type,
        emitted_at=datetime.now(UTC),
        **fields,
    )


async def delete_test_indexes(es: AsyncElasticsearch, settings: IndexerSettings) -> None:
    """The chunk generations behind ``settings.chunks_alias`` and the documents index."""
    for pattern in (f"{settings.chunks_alias}*", settings.documents_index):
        found = await es.indices.get(index=pattern, ignore_unavailable=True)
        if found.body:
            await es.indices.delete(index=",".join(found.body))


def failed_outcomes(result: BatchResult) -> list[EventOutcome]:
    """The batch's failed outcomes (each with its stage and reason)."""
    return [outcome for outcome in result.outcomes if outcome.status == "failed"]
