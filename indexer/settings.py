"""Settings of the indexer (env prefix ``MMRAG_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexerSettings(BaseSettings):
    """Where the indexes live and what the pipeline may read. Defaults match the local
    stack (``mmrag stack up``)."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_", extra="ignore")

    elasticsearch_url: str = "http://127.0.0.1:19200"
    chunks_alias: str = "mmrag-chunks"
    documents_index: str = "mmrag-documents"
    refresh: Literal["wait_for", "false"] = "wait_for"
    """``wait_for``: a batch is acknowledged once searchable (freshness is explicit);
    ``false``: rely on the index's refresh interval (more throughput under load)."""
    refresh_interval: str = "1s"
    vector_index_type: Literal["int8_hnsw", "hnsw", "bbq_hnsw"] = "int8_hnsw"
    bulk_max_retries: int = 5
    allowed_roots: tuple[Path, ...] = ()
    """Local directories the indexer may read files from; empty allows any local path
    (fine on a single machine; set it wherever events come from others)."""
    asset_allowed_hosts: tuple[str, ...] = ()
    """Hosts that images referenced by URL (CMS assets, HTML ``<img>``) may be fetched from;
    empty means none: remote images are then skipped."""
    asset_allowed_schemes: tuple[str, ...] = ("https", "http")
    max_document_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_asset_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=64_000_000, gt=0)
    fetch_timeout_s: float = 10.0
    chunk_max_tokens: int = 200
    chunk_overlap_tokens: int = 40
