"""The change log: the Kafka names the write and read sides share (bootstrap, the live,
backfill and dead-letter topics, the worker's consumer group), and how far that group is
behind on them. Part of the indexer's change-event contract (``indexer.events``); both
``stream`` and ``query_api`` import it. Importing it does not import aiokafka."""

from __future__ import annotations

from indexer.change_log.lag import PartitionOffsets, TopicOffsets, topic_lag, total_lag
from indexer.change_log.offsets import GroupOffsetReader, group_offsets
from indexer.change_log.settings import (
    DEFAULT_KAFKA_BOOTSTRAP,
    DEFAULT_WORKER_APP_ID,
    ChangeLogSettings,
)

__all__ = [
    "DEFAULT_KAFKA_BOOTSTRAP",
    "DEFAULT_WORKER_APP_ID",
    "ChangeLogSettings",
    "GroupOffsetReader",
    "PartitionOffsets",
    "TopicOffsets",
    "group_offsets",
    "topic_lag",
    "total_lag",
]
