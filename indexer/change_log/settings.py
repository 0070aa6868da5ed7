"""Where the change log lives and what it is called (env prefix ``MMRAG_``): the one place
the Kafka bootstrap, the topic names and the worker's consumer group are defaulted.

The write side (``stream.settings.StreamSettings`` extends this class) and the read side
(``/health``'s lag) read the same variables through it.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:19092"
"""The local stack's broker (``mmrag stack up``)."""
DEFAULT_WORKER_APP_ID = "mmrag-indexer"
"""The worker's Faust app id: its Kafka consumer group and the prefix of its table topics."""


class ChangeLogSettings(BaseSettings):
    """Kafka connection, topic names and the indexer's consumer group."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_", extra="ignore")

    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    changes_topic: str = "mmrag.changes"
    """Live changes: a saved file, a CMS webhook. Consumed first."""
    backfill_topic: str = "mmrag.changes.backfill"
    """Bulk work: initial scans, reconciliation, ``--resend``, dead-letter replay, index
    rebuilds. Same key and partition count as the live topic; consumed when the live
    topic leaves room (docs/architecture.md, "Live changes first")."""
    dead_letter_topic: str = "mmrag.changes.dlq"
    worker_app_id: str = DEFAULT_WORKER_APP_ID
    """``MMRAG_WORKER_APP_ID``: the consumer group whose progress is the indexer's."""

    @property
    def change_topics(self) -> tuple[str, str]:
        """The topics the worker consumes: live first, then backfill."""
        return (self.changes_topic, self.backfill_topic)
