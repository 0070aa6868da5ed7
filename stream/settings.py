"""Settings of the event plumbing (env prefix ``MMRAG_``)."""

from __future__ import annotations

from indexer.change_log import ChangeLogSettings


class StreamSettings(ChangeLogSettings):
    """The change log's names (``ChangeLogSettings``: bootstrap, topics, consumer group)
    and how its topics are created. Defaults match the local stack."""

    changes_partitions: int = 6
    replication_factor: int = 1
    changes_retention_ms: int = 30 * 24 * 3600 * 1000
