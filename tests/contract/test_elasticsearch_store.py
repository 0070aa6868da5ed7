"""The ChunkStore contract on :class:`ElasticsearchStore` against the real node (uuid-named
indexes, deleted afterwards)."""

from __future__ import annotations

import pytest

from indexer.ports import ChunkStore
from indexer.settings import IndexerSettings
from indexer.store import ElasticsearchStore
from tests.contract.on_elasticsearch import OnElasticsearch

pytestmark = pytest.mark.integration


class TestElasticsearchStore(OnElasticsearch):
    def build(self, settings: IndexerSettings) -> ChunkStore:
        return ElasticsearchStore(settings)
