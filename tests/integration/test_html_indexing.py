"""Real documentation pages through the pipeline into Elasticsearch: the page's title (not
its file name), no navigation chrome, heading paths searchable as text, and every chunk's
embedded text within the encoder's window."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from indexer.encoders.base import Encoders
from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.events import DocumentMetadata
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from indexer.store.mappings import SECTION_TEXT_FIELD, TITLE_KEYWORD_FIELD
from tests.integration.pipeline_helpers import delete_test_indexes, failed_outcomes, file_upsert

FIXTURES = Path(__file__).parent.parent / "unit" / "fixtures" / "html"
PAGES = {
    "tutorial-join.html": "docbook_postgresql_tutorial_join.html",
    "prompts.html": "sphinx_click_prompts.html",
    "reference.html": "mkdocs_material_literate_nav_reference.html",
    "untitled.html": None,
}


@pytest.fixture(scope="module")
def encoders() -> Encoders:
    return load_encoders(EncoderSettings(clip_model=""))


@pytest.fixture
async def indexed(
    es_url: str, unique_name: str, tmp_path: Path, encoders: Encoders
) -> AsyncIterator[tuple[IndexerSettings, AsyncElasticsearch]]:
    for name, fixture in PAGES.items():
        if fixture is None:
            (tmp_path / name).write_text("<p>A page with no title and no heading at all.</p>")
        else:
            shutil.copy(FIXTURES / fixture, tmp_path / name)
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-html-{unique_name}-chunks",
        documents_index=f"test-html-{unique_name}-documents",
        allowed_roots=(tmp_path,),
    )
    writer = ElasticsearchStore(settings)
    pipeline = IndexingPipeline(settings, writer, encoders, ContentReader(settings))
    await pipeline.setup()
    events = [
        file_upsert(
            tmp_path / name,
            "fs:html",
            "text/html",
            metadata=DocumentMetadata(extra={"path": name}),  # as the watcher sends it
        )
        for name in PAGES
    ]
    result = await pipeline.process(events)
    assert not failed_outcomes(result), failed_outcomes(result)
    await pipeline.close()
    es = AsyncElasticsearch(es_url, request_timeout=30)
    await es.indices.refresh(index=settings.chunks_alias)
    try:
        yield settings, es
    finally:
        await delete_test_indexes(es, settings)
        await es.close()


async def _search(es: AsyncElasticsearch, index: str, query: dict[str, Any]) -> list[Any]:
    response = await es.search(index=index, query=query, size=100)
    return [hit["_source"] for hit in response["hits"]["hits"]]


async def test_html_pages_are_titled_clean_and_searchable_by_heading(
    indexed: tuple[IndexerSettings, AsyncElasticsearch], encoders: Encoders
) -> None:
    settings, es = indexed
    chunks = await _search(es, settings.chunks_alias, {"match_all": {}})
    titles = {Path(chunk["uri"]).name: chunk["title"] for chunk in chunks}
    assert titles == {
        "tutorial-join.html": "Joins Between Tables",
        "prompts.html": "User Input Prompts",
        "reference.html": "Reference",
        "untitled.html": "untitled.html",  # nothing in the page: the file name
    }
    for chunk in chunks:
        for chrome in ("Prev", "Home", "Quick search", "Made with", "¶"):
            assert chrome not in chunk["text"], (chrome, chunk["text"][:80])

    by_heading = await _search(
        es, settings.chunks_alias, {"match": {SECTION_TEXT_FIELD: "confirmation"}}
    )
    assert {chunk["section"] for chunk in by_heading} == {
        "User Input Prompts > Confirmation Prompts"
    }
    by_title = await _search(
        es, settings.chunks_alias, {"term": {TITLE_KEYWORD_FIELD: "Joins Between Tables"}}
    )
    assert by_title
    assert all(Path(chunk["uri"]).name == "tutorial-join.html" for chunk in by_title)
    sections = await es.search(
        index=settings.chunks_alias,
        size=0,
        aggs={"sections": {"terms": {"field": "section", "size": 50}}},
    )
    keys = {bucket["key"] for bucket in sections["aggregations"]["sections"]["buckets"]}
    assert "Reference > MkDocs native nav" in keys  # keyword aggregations still work

    window = encoders.text.max_input_tokens
    for chunk in chunks:
        assert encoders.text.count_tokens(chunk["text"]) < window
