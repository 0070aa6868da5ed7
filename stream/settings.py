"""Settings of the event plumbing (env prefix ``MMRAG_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class StreamSettings(BaseSettings):
    """Kafka connection and topic names. Defaults match the local stack."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    changes_topic: str = "mmrag.changes"
    dead_letter_topic: str = "mmrag.changes.dlq"
    changes_partitions: int = 6
    replication_factor: int = 1
    changes_retention_ms: int = 30 * 24 * 3600 * 1000
