"""Settings of the indexer (env prefix ``MMRAG_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_SHARDS = 1024
"""Elasticsearch's own limit of primary shards per index."""


class IndexerSettings(BaseSettings):
    """Where the indexes live and what the pipeline may read. Defaults match the local
    stack (``mmrag stack up``)."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_", extra="ignore")

    elasticsearch_url: str = "http://127.0.0.1:19200"
    chunks_alias: str = "mmrag-chunks"
    documents_index: str = "mmrag-documents"
    refresh: Literal["true", "wait_for", "false"] = "wait_for"
    """``wait_for``: a batch is acknowledged once searchable (freshness is explicit);
    ``true``: the bulk request refreshes the index itself (searchable at once, more small
    segments); ``false``: rely on the index's refresh interval (more throughput under
    load). The worker's live lane uses ``MMRAG_WORKER_LIVE_REFRESH`` instead."""
    refresh_interval: str = "1s"
    vector_index_type: Literal["int8_hnsw", "hnsw", "bbq_hnsw"] = "int8_hnsw"
    bulk_max_retries: int = 5
    chunk_shards: int = Field(default=1, ge=1, le=MAX_SHARDS)
    """Primary shards of each new chunk generation (``MMRAG_CHUNK_SHARDS``); fixed once the
    generation exists: a new generation changes it."""
    chunk_replicas: int = Field(default=0, ge=0)
    """Replicas of each new chunk generation (``MMRAG_CHUNK_REPLICAS``): 0 on one node (a
    replica needs another node), 1 or more for a cluster that must survive a node."""
    documents_shards: int = Field(default=1, ge=1, le=MAX_SHARDS)
    """Primary shards of the documents (manifest) index when it is created."""
    documents_replicas: int = Field(default=0, ge=0)
    """Replicas of the documents index when it is created."""
    allowed_roots: tuple[Path, ...] = ()
    """A ceiling on local reads: when set, no file outside these directories is read,
    whatever a source declares; also the roots of file-system (``fs:``) events that
    declare none. Empty: no ceiling beyond each source's own roots (``indexer.read_scope``)."""
    source_roots: dict[str, tuple[Path, ...]] = Field(default_factory=dict)
    """The local directories each source's events may read, as JSON, e.g.
    ``MMRAG_SOURCE_ROOTS='{"fs:docs": ["/srv/docs"]}'``; it overrides the root a watcher
    declares on its events. Other sources than ``fs:`` ones read no local file unless
    listed; ``cms:`` sources may not be listed (webhooks never name local files)."""
    asset_allowed_hosts: tuple[str, ...] = ()
    """Hosts that images referenced by URL (CMS assets, HTML ``<img>``) may be fetched from;
    empty means none: remote images are then skipped."""
    asset_allowed_schemes: tuple[str, ...] = ("https", "http")
    max_document_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_asset_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=64_000_000, gt=0)
    fetch_timeout_s: float = 10.0
    extract_timeout_s: float = Field(default=45.0, gt=0)
    """Budget for extracting and chunking one document: past it the document alone is
    dead-lettered (stage ``extract``) and the batch goes on. Below the worker's stall timeout
    (60 s), so a pathological file never makes the worker restart in a loop. The parser's
    thread cannot be interrupted and finishes in the background (the parsers are linear, so
    it ends); its result is discarded."""
    chunk_max_tokens: int = Field(default=200, ge=8)
    """Most tokens of a chunk, in the text encoder's own tokens; capped by the encoder's
    window less 48 tokens for the title and heading path embedded with it (206 for
    all-MiniLM-L6-v2's 256), so nothing is ever cut by the encoder."""
    chunk_overlap_tokens: int = Field(default=40, ge=0)
    """Tokens of a chunk's end repeated at the start of the next (at most a quarter of a
    chunk)."""

    @field_validator("source_roots")
    @classmethod
    def _no_cms_roots(cls, value: dict[str, tuple[Path, ...]]) -> dict[str, tuple[Path, ...]]:
        for source, roots in value.items():
            if source.startswith("cms:"):
                raise ValueError(f"{source}: CMS and webhook sources may not read local files")
            for root in roots:
                if not root.is_absolute():
                    raise ValueError(f"{source}: root {root} is not an absolute path")
        return value

    @field_validator("asset_allowed_schemes")
    @classmethod
    def _remote_schemes_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - {"http", "https"}
        if unknown:
            raise ValueError(f"only http and https assets can be fetched, not {sorted(unknown)}")
        return value
