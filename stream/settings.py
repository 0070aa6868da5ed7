"""Settings of the event plumbing (env prefix ``MMRAG_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class StreamSettings(BaseSettings):
    """Kafka connection and topic names. Defaults match the local stack."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    changes_topic: str = "mmrag.changes"
    """Live changes: a saved file, a CMS webhook. Consumed first."""
    backfill_topic: str = "mmrag.changes.backfill"
    """Bulk work: initial scans, reconciliation, ``--resend``, dead-letter replay, index
    rebuilds. Same key and partition count as the live topic; consumed when the live
    topic leaves room (docs/architecture.md, "Live changes first")."""
    dead_letter_topic: str = "mmrag.changes.dlq"
    changes_partitions: int = 6
    replication_factor: int = 1
    changes_retention_ms: int = 30 * 24 * 3600 * 1000
