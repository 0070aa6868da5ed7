"""Settings of the indexer (env prefix ``MMRAG_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexerSettings(BaseSettings):
    """Where the indexes live. Defaults match the local stack (``mmrag stack up``)."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_", extra="ignore")

    elasticsearch_url: str = "http://127.0.0.1:19200"
    chunks_alias: str = "mmrag-chunks"
    documents_index: str = "mmrag-documents"
