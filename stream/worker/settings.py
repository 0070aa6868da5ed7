"""Settings of the Faust worker (env prefix ``MMRAG_WORKER_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.change_log import DEFAULT_WORKER_APP_ID


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MMRAG_WORKER_", extra="ignore")

    app_id: str = DEFAULT_WORKER_APP_ID
    """Faust app id: the consumer group and the prefix of the manifest table's topic."""
    batch_size: int = Field(default=64, gt=0)
    """Events per batch of the live topic."""
    batch_within_s: float = Field(default=0.05, gt=0)
    """A batch is handed to the pipeline when full or this long after its first event."""
    backfill_batch_size: int = Field(default=8, gt=0)
    """Events per batch of the backfill topic: small, so that a bulk load's documents
    become searchable a few at a time and a batch holds its documents' locks briefly."""
    live_refresh: Literal["true", "wait_for", "false"] = "true"
    """How the live lane's writes become searchable: ``true`` refreshes the chunk index
    with the batch (visible as soon as it is written, instead of at the next scheduled
    refresh, half of ``MMRAG_REFRESH_INTERVAL`` later on average); live batches are few
    and small, so the extra segments are cheap. The backfill lane keeps ``MMRAG_REFRESH``."""
    encode_sub_batch: int = Field(default=8, gt=0)
    """Texts (or images) per model call. The lanes take turns at the models between
    calls, live first, so a live change waits for at most one such call of a bulk load
    (a quarter to half a second of MiniLM on two busy cores at this size; 16 measured a
    live-edit p95 of 2.0 s during a load, 8 one of 1.0 s)."""
    session_timeout_s: float = 6.0
    """A dead worker's partitions move to the others after this long (Faust's default of
    60 s looks like a hang after a crash)."""
    heartbeat_interval_s: float = 2.0
    metrics_port: int = 9464
    """Prometheus metrics on http://127.0.0.1:<port>/metrics (0 disables)."""
    metrics_host: str = "127.0.0.1"
    max_transient_retries: int = 8
    """Backend outages are retried with exponential backoff (1 s … 30 s); after this many
    the worker exits without acknowledging, so Kafka redelivers the batch."""
    source_attempts: int = Field(default=3, ge=1)
    """Tries to read one document from a remote source that answers 5xx or cannot be
    reached, with backoff (1 s, 2 s, … up to 10 s); then that document alone is
    dead-lettered (stage ``fetch``, replayable with ``mmrag dlq replay``) and the batch goes
    on."""
    source_retry_delay_s: float = Field(default=1.0, ge=0)
    lag_interval_s: float = 5.0
    stall_timeout_s: float = 60.0
    """A partition with records waiting whose position has not moved for this long is a
    stall: the worker exits (code 75) so its supervisor restarts it (0 disables)."""
