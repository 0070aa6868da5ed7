"""Local files cannot be read through webhooks or forged events, against the real stack.

A signed webhook naming ``file:///proc/self/environ`` is refused at the CMS ingress (422,
dead letter with the reason). Events that reach Kafka anyway (a trusted producer's
mistake, or one written before this check) are refused by the worker itself: a CMS event
gets no local asset, a file-system event reads only under its declared root, and special
files are dead-lettered. The thumbnail route obeys the same roots.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pymupdf
from elasticsearch import AsyncElasticsearch

from indexer.change_log import ChangeLogSettings
from indexer.encoders import EncoderSettings
from indexer.encoders.loading import load_encoders
from indexer.events import Asset, ChangeEvent, DocumentMetadata, Operation, derive_doc_id
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from query_api.app import create_app as create_api
from query_api.generation import GenerationSettings
from query_api.settings import ApiSettings
from stream.cms import CmsSettings, standard_webhook_headers
from stream.cms import create_app as create_ingress
from stream.producer import ChangeProducer
from stream.settings import StreamSettings
from tests.integration import documents
from tests.integration.kafka_helpers import read_records
from tests.integration.pipeline_helpers import failed_outcomes
from tests.integration.worker_process import WorkerEnvironment, WorkerProcess, wait_for

SECRET = b"generic-secret"


def _event(
    source: str,
    uri: str,
    *,
    root: Path | str | None = None,
    text: str | None = None,
    assets: tuple[Asset, ...] = (),
    content_type: str | None = None,
) -> ChangeEvent:
    doc_id = derive_doc_id(source, uri)
    return ChangeEvent(
        event_id=uuid.uuid4().hex,
        source=source,
        doc_id=doc_id,
        op=Operation.UPSERT,
        uri=uri,
        revision=1,
        content_type=content_type or ("text/markdown" if text or uri.endswith(".md") else None),
        text=text,
        assets=assets,
        metadata=DocumentMetadata(extra={"root": str(root)} if root is not None else {}),
        emitted_at=datetime.now(UTC),
    )


async def _all_text(client: AsyncElasticsearch, alias: str) -> str:
    await client.indices.refresh(index=alias)
    response = await client.search(index=alias, size=1000, query={"match_all": {}})
    return "\n".join(str(hit["_source"]) for hit in response["hits"]["hits"])


async def test_webhooks_and_forged_events_read_no_local_file(
    setup: tuple[StreamSettings, WorkerEnvironment],
    es_client: AsyncElasticsearch,
    tmp_path: Path,
) -> None:
    stream_settings, environment = setup
    canary = f"canary-{uuid.uuid4().hex}"
    root = tmp_path / "watched"
    root.mkdir()
    (root / "note.md").write_text("# Inside\n\nA note inside the watched root.")
    (tmp_path / "outside.md").write_text(f"# Secret\n\n{canary} outside every root.")

    # 1. The real CMS ingress refuses a signed webhook that names a local file.
    ingress = create_ingress(
        CmsSettings(sources={"site": {"kind": "generic", "secret": SECRET.decode()}}),
        stream_settings,
    )
    body = (
        b'{"id": "a-1", "action": "publish", "revision": 1, "title": "Hello",'
        b' "text": "Harmless words.", "images": [{"url": "file:///proc/self/environ"}]}'
    )
    async with (
        ingress.router.lifespan_context(ingress),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ingress), base_url="http://ingress"
        ) as http,
    ):
        refused = await http.post(
            "/webhooks/site",
            content=body,
            headers={
                **standard_webhook_headers(
                    SECRET.decode(),
                    body,
                    message_id=f"msg_{uuid.uuid4().hex}",
                    timestamp=datetime.now(UTC),
                ),
                "Content-Type": "application/json",
            },
        )
    assert refused.status_code == 422, refused.text
    assert "names a local file" in refused.json()["detail"]

    # 2. Events that reach Kafka anyway are refused by the worker.
    cms = _event(
        "cms:site",
        "https://example.com/a-2",
        text="# Article\n\nHarmless words of an article.",
        assets=(Asset(uri="file:///proc/self/environ"), Asset(uri=(root / "note.md").as_uri())),
    )
    html = _event(
        "cms:site",
        "cms://site/a-3",
        text='<p>Harmless HTML words.</p><img src="file:///proc/self/environ" alt="env">',
        content_type="text/html",
    )
    environ = _event("fs:w", "file:///proc/self/environ", root=root)
    outside = _event("fs:w", (tmp_path / "outside.md").as_uri(), root=root)
    dots = _event("fs:w", f"file://{root}/../outside.md", root=root)
    zero = _event("fs:w", "file:///dev/zero", root="/dev")
    note = _event("fs:w", (root / "note.md").as_uri(), root=root)
    async with ChangeProducer(
        stream_settings.kafka_bootstrap,
        stream_settings.changes_topic,
        stream_settings.dead_letter_topic,
    ) as producer:
        await producer.send_many([cms, html, environ, outside, dots, zero, note])

    worker = WorkerProcess(
        environment, tmp_path / "worker", extra={"MMRAG_TEST_CANARY": canary}
    ).start()
    try:
        await worker.wait_ready()
        letters: list[dict[str, Any]] = []

        async def all_dead_lettered() -> bool:
            letters[:] = await read_records(
                stream_settings.kafka_bootstrap,
                stream_settings.dead_letter_topic,
                expect=5,
                timeout_s=2,
            )
            return len(letters) >= 5

        await wait_for(all_dead_lettered, timeout_s=120, what="dead letters", workers=[worker])
        indexed = await _all_text(es_client, environment.chunks_alias)
    finally:
        worker.stop()

    reasons = {letter.get("doc_id"): letter["reason"] for letter in letters}
    assert "names a local file" in next(
        letter["reason"] for letter in letters if letter["stage"] == "ingress"
    )
    assert "outside the roots of source 'fs:w'" in reasons[environ.doc_id]
    assert "outside the roots of source 'fs:w'" in reasons[outside.doc_id]
    assert "outside the roots of source 'fs:w'" in reasons[dots.doc_id]
    assert "special file system" in reasons[zero.doc_id]
    assert cms.doc_id not in reasons  # its text is indexed, its local assets are not
    assert html.doc_id not in reasons  # and so is the HTML, without its local <img>
    assert "Harmless HTML words" in indexed
    assert note.doc_id not in reasons
    assert "Harmless words of an article" in indexed
    assert "A note inside the watched root" in indexed
    assert canary not in indexed
    assert "MMRAG_" not in indexed
    assert indexed.count("'modality': 'image'") == 0


async def test_thumbnails_obey_the_roots_the_document_was_indexed_under(
    es_url: str, es_client: AsyncElasticsearch, tiny_random_clip: Path, tmp_path: Path
) -> None:
    name = uuid.uuid4().hex[:10]
    root = tmp_path / "watched"
    root.mkdir()
    (root / "photo.png").write_bytes(documents.png_bytes("blue", "rectangle"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.png").write_bytes(documents.png_bytes("green", "circle"))
    store = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-{name}-chunks",
        documents_index=f"test-{name}-documents",
    )
    encoders = load_encoders(EncoderSettings(clip_model=str(tiny_random_clip)))
    pipeline = IndexingPipeline(store, ElasticsearchStore(store), encoders, ContentReader(store))
    try:
        await pipeline.setup()
        photo = _event("fs:w", (root / "photo.png").as_uri(), root=root)
        result = await pipeline.process([photo])
        assert not failed_outcomes(result), failed_outcomes(result)
        await es_client.indices.refresh(index=store.chunks_alias)
        found = await es_client.search(
            index=store.chunks_alias, query={"term": {"doc_id": photo.doc_id}}, size=1
        )
        chunk = found["hits"]["hits"][0]["_source"]
        # A chunk as an unfixed worker would have written it from a webhook's local asset.
        secret = {
            **chunk,
            "chunk_id": "forged-1",
            "doc_id": "cms:site:forged",
            "source": "cms:site",
            "uri": (elsewhere / "secret.png").as_uri(),
        }
        secret["image_sha256"] = _sha256(elsewhere / "secret.png")
        await es_client.index(
            index=store.chunks_alias, id="forged-1", document=secret, refresh=True
        )

        async def status(api_store: IndexerSettings, chunk_id: str) -> int:
            app = create_api(
                ApiSettings(),
                store_settings=api_store,
                generation_settings=GenerationSettings(),
                change_log_settings=ChangeLogSettings(),
                encoders_factory=lambda: encoders,
                llm_factory=lambda _settings: None,
                static_directory=None,
            )
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://api"
                ) as client,
            ):
                response = await client.get(f"/images/{chunk_id}")
                return response.status_code

        # The watched root recorded in the manifest is enough: no setting needed.
        assert await status(store, chunk["chunk_id"]) == 200
        # A ceiling that excludes the root wins.
        capped = store.model_copy(update={"allowed_roots": (elsewhere,)})
        assert await status(capped, chunk["chunk_id"]) == 404
        # A CMS chunk never gives a local file, even inside the allowed roots.
        assert await status(capped, "forged-1") == 404
    finally:
        await pipeline.close()
        created = await es_client.indices.get(index=f"test-{name}-*")
        if created.body:
            await es_client.indices.delete(index=",".join(created.body))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pdf_with_pictures(path: Path, colors: tuple[str, ...]) -> None:
    fitz: Any = pymupdf
    document = fitz.open()
    page = document.new_page()
    page.insert_text((72, 60), "Three pictures, one per colour.")
    for number, color in enumerate(colors):
        top = 90 + 220 * number
        page.insert_image(fitz.Rect(72, top, 328, top + 192), stream=documents.png_bytes(color))
    document.save(path)
    document.close()


async def test_thumbnails_of_a_pdf_and_failures_remembered_briefly(
    es_url: str, es_client: AsyncElasticsearch, tiny_random_clip: Path, tmp_path: Path
) -> None:
    name = uuid.uuid4().hex[:10]
    root = tmp_path / "watched"
    root.mkdir()
    (root / "photo.png").write_bytes(documents.png_bytes("blue", "rectangle"))
    _pdf_with_pictures(root / "album.pdf", ("red", "green", "purple"))
    store = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-{name}-chunks",
        documents_index=f"test-{name}-documents",
    )
    encoders = load_encoders(EncoderSettings(clip_model=str(tiny_random_clip)))
    pipeline = IndexingPipeline(store, ElasticsearchStore(store), encoders, ContentReader(store))
    app = create_api(
        ApiSettings(thumbnail_failure_ttl_s=1.0),
        store_settings=store,
        generation_settings=GenerationSettings(),
        change_log_settings=ChangeLogSettings(),
        encoders_factory=lambda: encoders,
        llm_factory=lambda _settings: None,
        static_directory=None,
    )
    try:
        await pipeline.setup()
        photo = _event("fs:w", (root / "photo.png").as_uri(), root=root)
        album = _event("fs:w", (root / "album.pdf").as_uri(), root=root)
        result = await pipeline.process([photo, album])
        assert not failed_outcomes(result), failed_outcomes(result)
        await es_client.indices.refresh(index=store.chunks_alias)
        found = await es_client.search(
            index=store.chunks_alias,
            query={"term": {"modality": "image"}},
            size=10,
            source_includes=["doc_id", "chunk_id", "image_index"],
        )
        images = [hit["_source"] for hit in found["hits"]["hits"]]
        pdf_images = sorted(
            (image for image in images if image["doc_id"] == album.doc_id),
            key=lambda image: image["image_index"],
        )
        photo_chunk = next(i["chunk_id"] for i in images if i["doc_id"] == photo.doc_id)
        assert len(pdf_images) == 3
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api"
            ) as client,
        ):
            # Each PDF image is served from its own extraction, and each is different.
            served = [await client.get(f"/images/{i['chunk_id']}") for i in pdf_images]
            assert [response.status_code for response in served] == [200, 200, 200]
            assert len({response.content for response in served}) == 3

            (root / "photo.png").rename(root / "photo.moved")
            missing = await client.get(f"/images/{photo_chunk}")
            assert missing.status_code == 404
            assert "cannot be read" in missing.json()["detail"]
            (root / "photo.moved").rename(root / "photo.png")
            remembered = await client.get(f"/images/{photo_chunk}")
            assert remembered.status_code == 404  # from memory: the file was not read again
            await asyncio.sleep(1.1)
            assert (await client.get(f"/images/{photo_chunk}")).status_code == 200
    finally:
        await pipeline.close()
        created = await es_client.indices.get(index=f"test-{name}-*")
        if created.body:
            await es_client.indices.delete(index=",".join(created.body))
