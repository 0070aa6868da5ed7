"""Deleting what a run created (only names carrying its uuid), and counting its dead
letters."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient
from elasticsearch import AsyncElasticsearch

from bench.corpus_run.names import RunNames
from indexer.change_log import GroupOffsetReader

logger = logging.getLogger(__name__)


async def delete_run_indexes(client: AsyncElasticsearch, names: RunNames) -> None:
    found = await client.options(ignore_status=404).indices.get(index=names.index_pattern)
    indexes = [index for index in found.body if index.startswith(f"bench-{names.suffix}-")]
    if indexes:
        await client.indices.delete(index=",".join(indexes))


async def delete_run_topics(bootstrap: str, names: RunNames) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [topic for topic in await admin.list_topics() if names.owns_topic(topic)]
        if topics:
            await admin.delete_topics(topics)
    except Exception as error:  # leave the run's topics behind rather than hide the figures
        logger.warning("could not delete the run's topics: %s", error)
    finally:
        await admin.close()


async def dead_letter_count(bootstrap: str, names: RunNames) -> int:
    async with GroupOffsetReader(bootstrap, names.app_id, request_timeout_s=10) as reader:
        partitions = (await reader.read([names.dead_letter_topic]))[names.dead_letter_topic]
    return sum(offsets.end - offsets.beginning for offsets in partitions.values())
