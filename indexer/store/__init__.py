"""The Elasticsearch store: pure builders of mappings and records, and the async store."""

from __future__ import annotations

from indexer.store.elasticsearch import ElasticsearchStore, GenerationMismatch
from indexer.store.records import ChunkOperation, DocumentWrite

__all__ = ["ChunkOperation", "DocumentWrite", "ElasticsearchStore", "GenerationMismatch"]
