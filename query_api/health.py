"""``GET /health``: Elasticsearch's cluster status, the models, and the indexer's lag.

The lag is what the worker's consumer group has not committed yet on the change topics
(live and backfill), per partition ``end offset − committed offset`` (or ``− beginning
offset`` for a partition the group never committed): ``indexer.change_log`` reads and
sums it, as the worker does; ``backlog`` splits it by lane (live changes, bulk backfill).
Best effort: bounded by a short timeout, ``None`` when Kafka does not answer, and cached
for a few seconds so that polling ``/health`` does not load Kafka.

``documents_searchable`` counts the served generation's documents (manifests not deleted)
in that generation's documents index: its own when it chunks differently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch, NotFoundError

from indexer.change_log import (
    ChangeLogSettings,
    GroupOffsetReader,
    PartitionOffsets,
    topic_lag,
    total_lag,
)
from indexer.store.mappings import LIVE_MANIFESTS
from query_api.index_space import IndexSpaceReader

logger = logging.getLogger(__name__)

ChangeLogOffsets = dict[str, dict[int, PartitionOffsets]]
"""Per change topic, per partition: the worker group's offsets."""


@dataclass(frozen=True)
class ServedDocuments:
    """The generation the alias serves and its documents (each ``None`` when unreadable)."""

    generation: str | None
    documents_index: str | None
    searchable: int | None


def lane_backlog(
    offsets: ChangeLogOffsets | None, live_topic: str, backfill_topic: str
) -> dict[str, int] | None:
    """Events the worker has not processed yet, per lane (pure); ``None`` when Kafka did
    not answer or neither topic exists (yet)."""
    if offsets is None or not any(offsets.values()):
        return None
    return {
        "live": topic_lag(offsets.get(live_topic, {})),
        "backfill": topic_lag(offsets.get(backfill_topic, {})),
    }


async def elasticsearch_status(client: AsyncElasticsearch, timeout_s: float = 2.0) -> str:
    """``green``/``yellow``/``red``, or ``unreachable: …``."""
    try:
        response = await asyncio.wait_for(
            client.cluster.health(timeout=f"{max(1, int(timeout_s))}s"), timeout_s + 0.5
        )
    except Exception as error:  # health must answer whatever is wrong
        return f"unreachable: {type(error).__name__}"
    return str(response["status"])


async def served_documents(
    client: AsyncElasticsearch, spaces: IndexSpaceReader, shared: str, timeout_s: float = 2.0
) -> ServedDocuments:
    """Which generation is served, where its manifests are and how many documents it holds;
    never raises (a health check reports what it can)."""
    try:
        space = await asyncio.wait_for(spaces.read(), timeout_s)
    except Exception as error:  # health must answer whatever is wrong
        logger.info("served_generation_unknown error=%r", error)
        return ServedDocuments(None, None, None)
    index = space.documents_index_or(shared) if space is not None else shared
    generation = space.generation if space is not None else None
    try:
        counted = await asyncio.wait_for(client.count(index=index, query=LIVE_MANIFESTS), timeout_s)
    except NotFoundError:
        return ServedDocuments(generation, index, 0)  # nothing indexed yet
    except Exception as error:  # health must answer whatever is wrong
        logger.info("searchable_documents_unknown index=%s error=%r", index, error)
        return ServedDocuments(generation, index, None)
    return ServedDocuments(generation, index, int(counted["count"]))


class KafkaLagProbe:
    """The worker group's offsets on the change topics, read at most every ``cache_s``."""

    def __init__(self, change_log: ChangeLogSettings, *, timeout_s: float, cache_s: float) -> None:
        self._bootstrap = change_log.kafka_bootstrap
        self._group = change_log.worker_app_id
        self._topics = change_log.change_topics
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._offsets: ChangeLogOffsets | None = None
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def offsets(self) -> ChangeLogOffsets | None:
        """Per topic and partition (a topic that does not exist has no partitions);
        ``None`` when Kafka did not answer in time."""
        async with self._lock:
            if time.monotonic() - self._read_at < self._cache_s:
                return self._offsets
            try:
                self._offsets = await asyncio.wait_for(self._measure(), self._timeout_s)
            except Exception as error:  # best effort: Kafka down or slow
                logger.info("kafka_lag_unavailable error=%r", error)
                self._offsets = None
            self._read_at = time.monotonic()
            return self._offsets

    async def lag(self) -> int | None:
        """Records not yet committed over both change topics; ``None`` when Kafka did not
        answer or neither topic exists (yet)."""
        offsets = await self.offsets()
        if offsets is None or not any(offsets.values()):
            return None
        return total_lag(offsets)

    async def backlog(self) -> dict[str, int] | None:
        """:func:`lane_backlog` of the (cached) offsets."""
        live_topic, backfill_topic = self._topics
        return lane_backlog(await self.offsets(), live_topic, backfill_topic)

    async def _measure(self) -> ChangeLogOffsets:
        async with GroupOffsetReader(
            self._bootstrap, self._group, request_timeout_s=self._timeout_s
        ) as reader:
            return await reader.read(self._topics)
