"""The core domain of mmrag: the change-event contract, documents and chunks, the pure
pipeline steps, the encoders and the Elasticsearch store. Imports nothing else of ours."""

from __future__ import annotations

from indexer.settings import IndexerSettings

__all__ = ["IndexerSettings"]
