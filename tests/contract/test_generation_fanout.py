"""The ChunkStore contract on :class:`GenerationFanout`, the worker's dual-writing store,
against the real node: with one generation it must behave exactly as the plain store
(uuid-named indexes, deleted afterwards)."""

from __future__ import annotations

import pytest

from indexer.encoders.settings import EncoderSettings
from indexer.generations.encoders import EncoderCache
from indexer.generations.fanout import GenerationFanout
from indexer.ports import ChunkStore
from indexer.settings import IndexerSettings
from indexer.store import ElasticsearchStore
from tests.contract.on_elasticsearch import OnElasticsearch

pytestmark = pytest.mark.integration


class TestGenerationFanout(OnElasticsearch):
    def build(self, settings: IndexerSettings) -> ChunkStore:
        # No encoder is ever loaded: the contract's chunks carry the generation's own model.
        return GenerationFanout(
            ElasticsearchStore(settings), settings, EncoderCache(EncoderSettings()), None
        )
