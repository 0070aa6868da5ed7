"""The chunk stores: pure builders of mappings and records, the Elasticsearch store, the
in-memory store (same contract, no service), and the translation of Elasticsearch's
errors."""

from __future__ import annotations

from indexer.store.elasticsearch import ElasticsearchStore
from indexer.store.errors import GenerationMismatch
from indexer.store.in_memory import InMemoryChunkStore
from indexer.store.records import ChunkOperation, DocumentWrite

__all__ = [
    "ChunkOperation",
    "DocumentWrite",
    "ElasticsearchStore",
    "GenerationMismatch",
    "InMemoryChunkStore",
]
