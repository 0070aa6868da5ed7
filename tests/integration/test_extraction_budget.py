"""A document whose extraction overruns its time budget fails alone (stage ``extract``)
while the rest of its batch is indexed: the real pipeline into the real Elasticsearch."""

from __future__ import annotations

from pathlib import Path

from elasticsearch import AsyncElasticsearch

from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.events import derive_doc_id
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from tests.integration.pipeline_helpers import delete_test_indexes, file_upsert


async def test_a_document_over_its_extraction_budget_fails_alone(
    es_url: str, unique_name: str, tmp_path: Path
) -> None:
    hostile = tmp_path / "headings.md"
    hostile.write_text("#\n" * 400_000)  # linear, but seconds of pure-Python parsing
    good = tmp_path / "good.md"
    good.write_text("# Kettles\n\nDescale the kettle with citric acid once a month.\n")
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-budget-{unique_name}-chunks",
        documents_index=f"test-budget-{unique_name}-documents",
        allowed_roots=(tmp_path,),
        extract_timeout_s=1.0,  # room for the good page on a busy machine
    )
    pipeline = IndexingPipeline(
        settings,
        ElasticsearchStore(settings),
        load_encoders(EncoderSettings(clip_model="")),
        ContentReader(settings),
    )
    await pipeline.setup()
    es = AsyncElasticsearch(es_url, request_timeout=30)
    try:
        result = await pipeline.process(
            [file_upsert(hostile, "fs:budget"), file_upsert(good, "fs:budget")]
        )
        by_uri = {outcome.event.uri: outcome for outcome in result.outcomes}
        failed = by_uri[hostile.as_uri()]
        assert failed.status == "failed"
        assert failed.stage == "extract"
        assert "budget of 1 s" in (failed.reason or "")
        assert by_uri[good.as_uri()].status == "indexed"

        await es.indices.refresh(index=settings.chunks_alias)
        found = await es.search(
            index=settings.chunks_alias, query={"match": {"text": "citric"}}, size=10
        )
        assert [hit["_source"]["uri"] for hit in found["hits"]["hits"]] == [good.as_uri()]
    finally:
        await pipeline.close()
        await delete_test_indexes(es, settings)
        await es.close()


async def test_an_upsert_of_a_watched_file_deleted_since_is_superseded_not_dead_lettered(
    es_url: str, unique_name: str, tmp_path: Path
) -> None:
    """The watcher sent an upsert, then the file was deleted before the worker read it
    (a worker behind a busy folder): the delete that follows removes the document, so the
    upsert is superseded. A source other than a watcher still dead-letters it."""
    gone = tmp_path / "gone.md"
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-gone-{unique_name}-chunks",
        documents_index=f"test-gone-{unique_name}-documents",
        allowed_roots=(tmp_path,),
        source_roots={"api:importer": (tmp_path,)},
    )
    pipeline = IndexingPipeline(
        settings,
        ElasticsearchStore(settings),
        load_encoders(EncoderSettings(clip_model="")),
        ContentReader(settings),
    )
    await pipeline.setup()
    es = AsyncElasticsearch(es_url, request_timeout=30)
    try:
        watched = file_upsert(gone, "fs:budget")
        other = watched.model_copy(
            update={
                "source": "api:importer",
                "doc_id": derive_doc_id("api:importer", gone.as_uri()),
                "event_id": "e-api",
            }
        )
        result = await pipeline.process([watched, other])
        by_source = {outcome.event.source: outcome for outcome in result.outcomes}
        assert by_source["fs:budget"].status == "superseded"
        assert by_source["fs:budget"].reason == "file no longer exists"
        assert by_source["api:importer"].status == "failed"
        assert by_source["api:importer"].stage == "extract"
    finally:
        await pipeline.close()
        await delete_test_indexes(es, settings)
        await es.close()
