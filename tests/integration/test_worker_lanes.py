"""Live changes first: a live edit overtakes a backlog of bulk events on the backfill topic
(real Kafka, real Elasticsearch, ``mmrag worker`` as a subprocess with the real MiniLM)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from elasticsearch import AsyncElasticsearch

from indexer.events import ChangeEvent
from stream.lanes import Lane
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from tests.integration import documents
from tests.integration.test_worker import Index
from tests.integration.worker_process import WorkerEnvironment, WorkerProcess, wait_for

BACKLOG = 40


def _inline(doc_id: str, text: str) -> ChangeEvent:
    return ChangeEvent.model_validate(
        {
            "event_id": f"{doc_id}-1",
            "source": "cms:lanes",
            "doc_id": doc_id,
            "op": "upsert",
            "uri": f"https://cms.example/{doc_id}",
            "revision": 1,
            "content_type": "text/plain",
            "text": text,
            "emitted_at": datetime.now(UTC),
        }
    )


async def _indexed(es_client: AsyncElasticsearch, environment: WorkerEnvironment) -> set[str]:
    """The documents that have searchable chunks now."""
    if not await es_client.indices.exists_alias(name=environment.chunks_alias):
        return set()
    await es_client.indices.refresh(index=environment.chunks_alias)
    found = await es_client.search(
        index=environment.chunks_alias,
        size=0,
        aggs={"docs": {"terms": {"field": "doc_id", "size": 1000}}},
    )
    return {bucket["key"] for bucket in found["aggregations"]["docs"]["buckets"]}


async def test_a_live_edit_overtakes_a_bulk_backlog(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    stream_settings, environment = setup
    bulk = {
        f"bulk-{number:03d}": "\n\n".join(
            documents.paragraph(number * 31 + k, 90) for k in range(12)
        )
        for number in range(BACKLOG)
    }
    async with ChangeProducer(
        stream_settings.kafka_bootstrap,
        stream_settings.changes_topic,
        stream_settings.dead_letter_topic,
        backfill_topic=stream_settings.backfill_topic,
    ) as producer:
        await producer.send_many(
            (_inline(doc_id, text) for doc_id, text in bulk.items()), lane=Lane.BACKFILL
        )
        worker = WorkerProcess(
            environment, tmp_path / "worker", extra={"MMRAG_WORKER_BACKFILL_BATCH_SIZE": "4"}
        ).start()
        try:
            await worker.wait_ready()

            async def bulk_under_way() -> bool:
                return bool(await _indexed(es_client, environment))

            await wait_for(bulk_under_way, timeout_s=120, what="bulk load", workers=[worker])
            await producer.send(_inline("live-note", "A live note about the fresh edit."))

            async def live_searchable() -> bool:
                return "live-note" in await _indexed(es_client, environment)

            await wait_for(live_searchable, timeout_s=60, what="live note", workers=[worker])
            # The live note went ahead of the backlog: bulk documents are still waiting.
            assert len(await _indexed(es_client, environment) & set(bulk)) < BACKLOG

            async def everything_indexed() -> bool:
                return await _indexed(es_client, environment) >= {*bulk, "live-note"}

            await wait_for(everything_indexed, timeout_s=600, what="backlog", workers=[worker])

            async def caught_up() -> bool:
                lags = {lane: await worker.lags(lane) for lane in ("live", "backfill")}
                return all(
                    len(lag) == environment.partitions and not any(lag.values())
                    for lag in lags.values()
                )

            await wait_for(caught_up, timeout_s=30, what="zero lag in both lanes")
        finally:
            worker.stop()
    manifests = await Index(es_client, environment).manifests()
    assert set(manifests) == {*bulk, "live-note"}
