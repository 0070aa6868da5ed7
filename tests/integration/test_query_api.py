"""The query API against a real Elasticsearch, over a corpus indexed by the real pipeline.

Encoders: the real MiniLM (so text retrieval quality is a real check) and the tiny random
CLIP (which proves the image paths and identical-image matches, never semantic quality).
The corpus is indexed once per module, in-process, through ``IndexingPipeline``.
"""

from __future__ import annotations

import base64
import io
import itertools
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from httpx_sse import aconnect_sse
from PIL import Image

from indexer.change_log import ChangeLogSettings
from indexer.encoders import Encoders, EncoderSettings
from indexer.encoders.loading import load_encoders
from indexer.events import ChangeEvent, DocumentMetadata, Operation, derive_doc_id
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.settings import ApiKey, ApiSettings
from tests.integration import documents
from tests.integration.pipeline_helpers import failed_outcomes

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEAM_A = {"X-API-Key": "key-team-a"}
CORPUS = {
    "sourdough.md": "# Sourdough bread\n\nFeed the sourdough starter with equal weights of flour "
    "and water every day and keep it at room temperature. A lively starter doubles within "
    "six hours. Mix the dough at 75% hydration, fold it during bulk fermentation, shape a "
    "boule, proof it overnight in the fridge and bake it in a preheated Dutch oven.",
    "kafka.md": "# Kafka consumer groups\n\nEvery partition of a topic is read by exactly one "
    "member of a consumer group. When a member joins or leaves, the group coordinator "
    "rebalances and reassigns partitions. Consumers commit offsets so that after a restart "
    "processing resumes where it stopped; the lag is the distance to the log end offset.",
    "tomatoes.md": "# Growing tomatoes\n\nStart seedlings indoors six weeks before the last "
    "frost, then plant them deep in full sun. Stake or cage each plant and water at the base "
    "in the morning. Early blight shows as brown rings on the lower leaves: remove them and "
    "mulch the soil so spores do not splash up.",
    "marathon.txt": "Marathon training\n\nBuild weekly mileage slowly and run one long run each "
    "weekend at an easy conversational pace. In the last three weeks taper: cut the volume "
    "by a third each week while keeping some speed work, so your legs are fresh on race day. "
    "Practise drinking and taking gels during long runs.",
    "volcanoes.md": "# Volcanoes\n\nVolcanoes form where magma rises through the crust, often "
    "at the boundaries of tectonic plates. Runny basaltic lava builds wide shield volcanoes; "
    "sticky magma traps gas and causes explosive eruptions with ash clouds and pyroclastic "
    "flows.",
    "chess.md": "# Chess openings\n\nAgainst 1.e4 the Sicilian Defence (1...c5) fights for the "
    "centre asymmetrically and gives Black counterplay on the queenside. Develop knights "
    "before bishops, castle early to keep the king safe, and do not move the same piece twice "
    "in the opening.",
    "bees.md": "# Beekeeping\n\nA hive has one queen, thousands of female workers and some "
    "drones. Inspect the brood frames every week in spring to spot swarm cells. Treat the "
    "colony against varroa mites after the honey harvest, and leave enough honey for the "
    "bees to survive the winter.",
    "espresso.txt": "Espresso brewing\n\nUse eighteen grams of finely ground coffee, tamp it "
    "level and extract about thirty-six grams in 25 to 30 seconds. A shot that runs too fast "
    "is under-extracted and tastes sour; grind finer. A good shot has a thick hazelnut crema.",
    "photography.md": "# Long exposure photography\n\nPut the camera on a sturdy tripod and use "
    "a neutral density filter to allow shutter speeds of several seconds in daylight. Moving "
    "water turns silky and clouds streak across the sky. Use a remote release to avoid "
    "shaking the camera.",
    "nightingale.md": "# Project Nightingale\n\nConfidential: the merger with Lark Industries "
    "closes in March. Only the acquisition team may read the due diligence timeline.",
}
SECRET = {"nightingale.md", "secret.png"}
LABELLED = [
    ("how do I keep a sourdough starter alive", "sourdough.md"),
    ("partitions reassigned when a consumer joins the group", "kafka.md"),
    ("my tomato plant has brown spots on its leaves", "tomatoes.md"),
    ("reduce running volume before race day", "marathon.txt"),
    ("molten rock exploding out of a mountain", "volcanoes.md"),
    ("best reply for black after 1.e4", "chess.md"),
    ("treating hives for varroa mites", "bees.md"),
    ("why does my coffee shot taste acidic", "espresso.txt"),
    ("silky water with a slow shutter", "photography.md"),
    ("how far behind is the reader of the log", "kafka.md"),
    ("ND filter for daytime", "photography.md"),
    ("insects that make honey", "bees.md"),
]


@dataclass
class Indexed:
    client: httpx.AsyncClient
    ids: dict[str, str]
    folder: Path
    store: IndexerSettings
    es: AsyncElasticsearch
    app: Any


def _events(folder: Path) -> list[ChangeEvent]:
    types = {".md": "text/markdown", ".txt": "text/plain", ".pdf": "application/pdf"}
    types |= {".jpg": "image/jpeg", ".png": "image/png"}
    events = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in types or path.name == "diagram.png":
            continue  # diagram.png is only referenced from guide.md
        uri = path.as_uri()
        events.append(
            ChangeEvent(
                event_id=f"e-{path.name}",
                source="fs:corpus",
                doc_id=derive_doc_id("fs:corpus", uri),
                op=Operation.UPSERT,
                uri=uri,
                revision=1,
                content_type=types[path.suffix],
                metadata=DocumentMetadata(tags=("food",) if path.stem in ("sourdough",) else ()),
                acl=("team-a",) if path.name in SECRET else (),
                emitted_at=datetime.now(UTC),
            )
        )
    return events


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def indexed(
    es_url: str, tiny_random_clip: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Indexed]:
    folder = tmp_path_factory.mktemp("query-corpus")
    for name, text in CORPUS.items():
        (folder / name).write_text(text)
    documents.pdf_with_picture(folder / "report.pdf")
    (folder / "photo.jpg").write_bytes(documents.jpeg_bytes("orange"))
    (folder / "shapes.png").write_bytes(documents.png_bytes("blue", "rectangle"))
    (folder / "secret.png").write_bytes(documents.png_bytes("green", "circle"))
    (folder / "diagram.png").write_bytes(documents.png_bytes("purple", "circle"))
    (folder / "guide.md").write_text(
        "# Setup guide\n\nThe architecture diagram below shows the brokers.\n\n"
        "![Architecture diagram](diagram.png)\n"
    )
    name = f"{folder.name.lower().replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    store = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-{name}-chunks",
        documents_index=f"test-{name}-documents",
        allowed_roots=(folder,),
    )
    encoders = load_encoders(EncoderSettings(clip_model=str(tiny_random_clip)))
    pipeline_store = ElasticsearchStore(store)
    pipeline = IndexingPipeline(store, pipeline_store, encoders, ContentReader(store))
    await pipeline.setup()
    events = _events(folder)
    result = await pipeline.process(events)
    assert not failed_outcomes(result), failed_outcomes(result)
    await pipeline_store.close()
    es = AsyncElasticsearch(es_url, request_timeout=30)
    await es.indices.refresh(index=store.chunks_alias)
    app = _app(store, encoders)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            ids = {Path(event.uri).name: event.doc_id for event in events}
            yield Indexed(client, ids, folder, store, es, app)
    created = await es.indices.get(index=f"test-{name}-*")
    if created.body:
        await es.indices.delete(index=",".join(created.body))
    await es.close()


def _app(
    store: IndexerSettings,
    encoders: Encoders,
    change_log: ChangeLogSettings | None = None,
    **settings: Any,
) -> Any:
    api = ApiSettings(
        api_keys={"key-team-a": ApiKey(name="acquisitions", principals=("team-a",))},
        lag_timeout_s=15,  # a loaded CI machine can be slow to answer
        **settings,
    )
    return create_app(
        api,
        store_settings=store,
        generation_settings=GenerationSettings(),
        change_log_settings=change_log or ChangeLogSettings(),
        encoders_factory=lambda: encoders,
        llm_factory=lambda _settings: None,
        static_directory=None,
    )


async def _search(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **body: Any
) -> list[dict[str, Any]]:
    response = await client.post("/search", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()["hits"]
    return hits


async def test_text_query_finds_the_right_document(indexed: Indexed) -> None:
    hits = await _search(indexed.client, query="baking bread with a starter in a dutch oven")
    top3 = [hit["doc_id"] for hit in hits[:3]]
    assert indexed.ids["sourdough.md"] in top3
    first = hits[0]
    assert first["modality"] == "text"
    assert first["uri"].endswith("sourdough.md")
    assert first["snippet"]
    assert "starter" in first["snippet"]
    assert set(first["retrievers"]) <= {"bm25", "text_knn", "clip_knn"}
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(hits))


async def _rank_of(
    client: httpx.AsyncClient, query: str, relevant: str, mode: str, modalities: list[str]
) -> int | None:
    hits = await _search(client, query=query, mode=mode, k=10, modalities=modalities)
    doc_ids = list(dict.fromkeys(hit["doc_id"] for hit in hits))
    return doc_ids.index(relevant) + 1 if relevant in doc_ids else None


async def _evaluate(indexed: Indexed, modalities: list[str]) -> dict[str, tuple[float, float]]:
    table = {}
    for mode in ("hybrid", "lexical", "vector"):
        ranks = [
            await _rank_of(indexed.client, query, indexed.ids[name], mode, modalities)
            for query, name in LABELLED
        ]
        recall = sum(1 for rank in ranks if rank is not None and rank <= 5) / len(ranks)
        mrr = sum(1 / rank for rank in ranks if rank is not None) / len(ranks)
        table[mode] = (recall, mrr)
        print(f"  {mode:8} ranks={ranks}")
    return table


async def test_hybrid_is_at_least_as_good_as_each_single_mode(indexed: Indexed) -> None:
    print(f"\nlabelled set: {len(LABELLED)} queries over {len(CORPUS)} text documents")
    print("text chunks only (MiniLM + BM25; the tiny CLIP is random, so images are left out):")
    table = await _evaluate(indexed, ["text"])
    print("  mode      recall@5  MRR")
    for mode, (recall, mrr) in table.items():
        print(f"  {mode:8}  {recall:8.3f}  {mrr:.3f}")
    print("all modalities (random CLIP image hits compete, so this is reported, not asserted):")
    for mode, (recall, mrr) in (await _evaluate(indexed, ["text", "image"])).items():
        print(f"  {mode:8}  {recall:8.3f}  {mrr:.3f}")
    hybrid_recall, hybrid_mrr = table["hybrid"]
    for mode in ("lexical", "vector"):
        recall, mrr = table[mode]
        assert hybrid_mrr >= mrr or hybrid_recall >= recall, (mode, table)
    assert hybrid_recall >= 0.75, table


async def test_image_queries(indexed: Indexed) -> None:
    photo = documents.jpeg_bytes("orange")
    encoded = base64.b64encode(photo).decode()
    # image → image: the identical picture has the identical vector, so it comes first.
    hits = await _search(indexed.client, image_base64=encoded, modalities=["image"], k=5)
    assert hits[0]["doc_id"] == indexed.ids["photo.jpg"]
    assert all(hit["modality"] == "image" and hit["image_url"] for hit in hits)
    assert hits[0]["retrievers"] == {"clip_knn": 1}
    assert indexed.ids["secret.png"] not in {hit["doc_id"] for hit in hits}
    # The same as a multipart upload.
    response = await indexed.client.post(
        "/search", files={"image": ("q.jpg", photo, "image/jpeg")}, data={"modalities": "image"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["hits"][0]["doc_id"] == indexed.ids["photo.jpg"]
    # image → text: text chunks ranked by their CLIP vectors.
    hits = await _search(indexed.client, image_base64=encoded, modalities=["text"], k=5)
    assert len(hits) == 5
    assert all(hit["modality"] == "text" and hit["image_url"] is None for hit in hits)
    assert all(set(hit["retrievers"]) == {"image_text_knn"} for hit in hits)
    # text → image (structure only: the tiny CLIP is random).
    hits = await _search(
        indexed.client, query="an orange circle", modalities=["image"], mode="vector"
    )
    assert hits
    assert all(hit["modality"] == "image" for hit in hits)
    assert any("clip_knn" in hit["retrievers"] for hit in hits)
    figure = next(hit for hit in hits if hit["doc_id"] == indexed.ids["report.pdf"])
    assert figure["page"] == 1
    assert figure["bbox"] == pytest.approx([100, 150, 356, 342], abs=1)


async def test_filters(indexed: Indexed) -> None:
    hits = await _search(indexed.client, query="bread", filters={"tags": ["food"]})
    assert {hit["doc_id"] for hit in hits} == {indexed.ids["sourdough.md"]}
    chess_uri = (indexed.folder / "chess.md").as_uri()
    hits = await _search(indexed.client, query="opening", filters={"uri_prefix": chess_uri})
    assert {hit["uri"] for hit in hits} == {chess_uri}
    hits = await _search(indexed.client, query="kafka", filters={"source": ["elsewhere"]})
    assert hits == []
    hits = await _search(indexed.client, query="kafka", filters={"content_type": ["text/plain"]})
    assert {hit["uri"].rsplit(".", 1)[-1] for hit in hits} == {"txt"}


async def test_acl_hides_restricted_documents_everywhere(indexed: Indexed) -> None:
    client, secret = indexed.client, indexed.ids["nightingale.md"]
    secret_image = indexed.ids["secret.png"]
    query = "Project Nightingale merger with Lark Industries due diligence"
    for mode in ("hybrid", "lexical", "vector"):
        anonymous = await _search(client, query=query, mode=mode, k=20)
        assert {secret, secret_image}.isdisjoint(hit["doc_id"] for hit in anonymous), mode
        granted = await _search(client, TEAM_A, query=query, mode=mode, k=20)
        assert secret in {hit["doc_id"] for hit in granted}, mode
    granted = await _search(client, TEAM_A, query="green circle", modalities=["image"], k=20)
    image_hit = next(hit for hit in granted if hit["doc_id"] == secret_image)
    assert (await client.get(f"/documents/{secret}")).status_code == 404
    assert (await client.get(f"/documents/{secret}", headers=TEAM_A)).status_code == 200
    assert (await client.get(image_hit["image_url"])).status_code == 404
    assert (await client.get(image_hit["image_url"], headers=TEAM_A)).status_code == 200


async def test_documents(indexed: Indexed) -> None:
    response = await indexed.client.get(f"/documents/{indexed.ids['report.pdf']}")
    assert response.status_code == 200
    document = response.json()
    assert document["status"] == "indexed"
    assert document["uri"].endswith("report.pdf")
    assert {chunk["modality"] for chunk in document["chunks"]} == {"text", "image"}
    response = await indexed.client.get("/documents/fs:corpus:unknown")
    assert response.status_code == 404
    assert "no document" in response.json()["detail"]


def _decoded(response: httpx.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert max(image.size) <= 256
    return image


async def test_thumbnails_of_standalone_images_pdf_figures_and_references(indexed: Indexed) -> None:
    client = indexed.client
    thumbnails = {}
    cache = indexed.app.state.services.thumbnails.cache
    for name in ("photo.jpg", "report.pdf", "guide.md"):
        hits = await _search(client, query="picture", modalities=["image"], k=20)
        hit = next(hit for hit in hits if hit["doc_id"] == indexed.ids[name])
        first = await client.get(hit["image_url"])
        thumbnails[name] = _decoded(first)
        cached_before = len(cache)
        again = await client.get(hit["image_url"])  # served from the LRU this time
        assert again.content == first.content
        assert len(cache) == cached_before
    # The 640×480 photo becomes 256×192; the centre of its orange circle stays orange.
    assert thumbnails["photo.jpg"].size == (256, 192)
    assert _is_orange(thumbnails["photo.jpg"].getpixel((128, 96)))
    # The PDF figure (a 256×192 PNG of a red circle) and the referenced purple circle.
    assert thumbnails["report.pdf"].size == (256, 192)
    assert thumbnails["guide.md"].size == (256, 192)


def _is_orange(pixel: Any) -> bool:
    red, green, blue = pixel
    return bool(red > 200 and 100 < green < 200 and blue < 80)


async def test_thumbnails_refuse_what_they_must_not_serve(indexed: Indexed) -> None:
    client = indexed.client
    text_hit = (await _search(client, query="sourdough", modalities=["text"]))[0]
    response = await client.get(f"/images/{text_hit['chunk_id']}")
    assert response.status_code == 404
    assert (await client.get("/images/no-such-chunk")).status_code == 404
    # A chunk claiming a file outside MMRAG_ALLOWED_ROOTS is never read.
    await indexed.es.index(
        index=indexed.store.chunks_alias,
        id="outside",
        document={
            "chunk_id": "outside",
            "doc_id": "outside",
            "modality": "image",
            "uri": "file:///etc/hostname",
            "source": "fs:elsewhere",
            "content_type": "image/png",
            "image_sha256": "0" * 64,
            "acl": [],
        },
        refresh="wait_for",
    )
    response = await client.get("/images/outside")
    assert response.status_code == 404
    assert "outside the roots of source 'fs:elsewhere'" in response.json()["detail"]
    # A file edited since indexing no longer matches its hash.
    (indexed.folder / "shapes.png").write_bytes(documents.png_bytes("yellow", "circle"))
    hits = await _search(client, query="shapes", modalities=["image"], k=20)
    shapes = next(hit for hit in hits if hit["doc_id"] == indexed.ids["shapes.png"])
    response = await client.get(shapes["image_url"])
    assert response.status_code == 404
    assert "changed since it was indexed" in response.json()["detail"]


async def test_bad_requests_are_4xx(indexed: Indexed) -> None:
    client = indexed.client
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"query": ""}, 422, "give a text query"),
        ({"query": "x", "filters": {"colour": "red"}}, 422, "filters.colour: unknown field"),
        ({"image_base64": base64.b64encode(b"GIF89a broken").decode()}, 422, "query image"),
        ({"query": "x", "image_base64": "??"}, 422, "base64"),
    ]
    for body, status, needle in cases:
        response = await client.post("/search", json=body)
        assert response.status_code == status, body
        assert needle in response.json()["detail"], body
    response = await client.post("/search", json={"query": "x"}, headers={"X-API-Key": "wrong"})
    assert response.status_code == 401


async def test_health_and_metrics(indexed: Indexed, kafka_bootstrap: str, unique_name: str) -> None:
    from aiokafka import AIOKafkaProducer

    from tests.integration.kafka_helpers import create_test_topics

    topic = f"test.{unique_name}"
    await create_test_topics(kafka_bootstrap, topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for number in range(3):
            await producer.send_and_wait(topic, b"{}", key=str(number).encode())
    finally:
        await producer.stop()
    encoders = indexed.app.state.services.encoders
    change_log = ChangeLogSettings(
        kafka_bootstrap=kafka_bootstrap,
        changes_topic=topic,
        backfill_topic=f"{topic}.backfill",  # created empty: nothing pending there
        worker_app_id=f"group-{unique_name}",
    )
    app = _app(indexed.store, encoders, change_log)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            health = (await client.get("/health")).json()
            await client.post("/search", json={"query": "kafka"})
            metrics = (await client.get("/metrics")).text
    assert health["status"] == "ok", health
    assert health["elasticsearch"] in ("green", "yellow")
    assert health["kafka_lag"] == 3  # three records, nothing committed by the group
    assert health["backlog"] == {"live": 3, "backfill": 0}
    assert health["text_model"] == encoders.text.name  # the runtime's suffix included
    assert health["text_model"].startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert health["clip_model"]
    assert 'mmrag_search_seconds_count{mode="hybrid"} 1.0' in metrics
    assert 'mmrag_api_requests_total{endpoint="/health",method="GET",status="200"} 1.0' in metrics
    assert 'mmrag_search_stage_seconds_count{stage="embed"} 1.0' in metrics


async def test_ask_answers_extractively_citing_only_retrieved_chunks(indexed: Indexed) -> None:
    client = indexed.client
    question = "How should I treat a bee colony against varroa mites?"
    retrieved = {hit["chunk_id"] for hit in await _search(client, query=question, k=6)}
    response = await client.post("/ask", json={"question": question, "k": 6})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["generator"] == "extractive"
    assert answer["answer"]
    assert answer["citations"]
    assert {c["chunk_id"] for c in answer["citations"]} <= retrieved
    assert indexed.ids["bees.md"] in {c["doc_id"] for c in answer["citations"]}

    body = {"question": question, "stream": True}
    async with aconnect_sse(client, "POST", "/ask", json=body) as streamed:
        events = [(event.event, event.json()) async for event in streamed.aiter_sse()]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done"
    assert "citations" in kinds
    assert kinds[0] == "token"
    citations = next(data for kind, data in events if kind == "citations")
    assert {c["chunk_id"] for c in citations} <= retrieved
    assert events[-1][1]["generator"] == "extractive"

    secret_question = "When does the Project Nightingale merger close?"
    anonymous = (await client.post("/ask", json={"question": secret_question})).json()
    assert indexed.ids["nightingale.md"] not in {c["doc_id"] for c in anonymous["citations"]}
    granted = (await client.post("/ask", json={"question": secret_question}, headers=TEAM_A)).json()
    assert indexed.ids["nightingale.md"] in {c["doc_id"] for c in granted["citations"]}


@asynccontextmanager
async def _client_with(indexed: Indexed, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second API over the same index, with other retrieval settings."""
    app = _app(indexed.store, indexed.app.state.services.encoders, **settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def test_plain_profile_is_the_fixed_baseline(indexed: Indexed) -> None:
    client, query = indexed.client, "how far behind is the reader of the log"
    # lexical: exactly Elasticsearch's BM25 match on the chunk text (public chunks only).
    hits = await _search(client, query=query, mode="lexical", profile="plain", k=10)
    direct = await indexed.es.search(
        index=indexed.store.chunks_alias,
        query={
            "bool": {
                "must": [{"match": {"text": query}}],
                "must_not": [{"exists": {"field": "acl"}}],
            }
        },
        size=10,
        source=False,
    )
    assert [hit["chunk_id"] for hit in hits] == [hit["_id"] for hit in direct["hits"]["hits"]]
    assert all(hit["retrievers"] == {"bm25": rank} for rank, hit in enumerate(hits, start=1))
    # vector: text kNN only; hybrid: RRF k=60 of those two, equal weights, never CLIP.
    vector = await _search(client, query=query, mode="vector", profile="plain", k=10)
    assert all(set(hit["retrievers"]) == {"text_knn"} for hit in vector)
    default = await _search(client, query="an orange circle", k=30)
    assert any("clip_knn" in hit["retrievers"] for hit in default)
    plain = await _search(client, query="an orange circle", profile="plain", k=30)
    assert all(set(hit["retrievers"]) <= {"bm25", "text_knn"} for hit in plain)
    for hit in plain:
        expected = sum(1 / (60 + rank) for rank in hit["retrievers"].values())
        assert hit["score"] == pytest.approx(expected)
    response = await client.post("/search", json={"query": query, "profile": "plain"})
    assert response.json()["profile"] == "plain"
    # The settings change the default profile, never the plain one.
    tuned = {
        "weights": {"bm25": 0.0, "clip_knn": 0.0, "text_knn": 1.0},
        "rrf_k": 1,
        "rank_window_size": 5,
    }
    async with _client_with(indexed, **tuned) as other:
        assert await _search(other, query=query, profile="plain", k=30) == await _search(
            client, query=query, profile="plain", k=30
        )
        tuned_hits = await _search(other, query=query, k=10)
        assert all(set(hit["retrievers"]) == {"text_knn"} for hit in tuned_hits)
        assert tuned_hits[0]["score"] == pytest.approx(1 / 2)


LIGHTHOUSE_TOPICS = {
    "Lamp": "the lamp, its mantle, the paraffin vapour burner and the clockwork that turns "
    "the lens",
    "Lens": "the Fresnel lens, its prisms, the brass frame and the mercury bath it floats on",
    "Fog signal": "the fog horn, the compressed air engine and the timing of the blasts",
    "Log book": "the log book, the weather entries, passing ships and the keeper's watches",
}


def _lighthouse_manual() -> str:
    """A long Markdown manual: several chunks of one document about one subject."""
    sections = []
    for heading, subject in LIGHTHOUSE_TOPICS.items():
        sentences = [
            f"The lighthouse keeper looks after {subject} every night of the year.",
            f"Before sunset the keeper cleans {subject} and checks that nothing is worn.",
            "A lighthouse keeper writes down every fault, repairs it before dawn and "
            "reports it to the district superintendent by the next supply boat.",
            f"In winter storms the keeper climbs the tower every two hours to watch {subject}.",
        ]
        sections.append(f"## {heading}\n\n" + " ".join(sentences * 4))
    return "# Lighthouse keeping manual\n\n" + "\n\n".join(sections) + "\n"


@dataclass
class Manual:
    retriever: Any
    caller: Any
    ids: dict[str, str]
    filters: Any


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def manual(indexed: Indexed) -> AsyncIterator[Manual]:
    """Two documents only the principal ``team-g`` may read (so no other test sees them):
    a long manual (several chunks) and a short note, both about lighthouse keeping; the
    note's title, given by its source, shares no word with its text."""
    from concurrent.futures import ThreadPoolExecutor

    from query_api.access import Caller
    from query_api.retrieval import ChunkRetriever
    from query_api.schemas import SearchFilters

    (indexed.folder / "lighthouse-manual.md").write_text(_lighthouse_manual())
    (indexed.folder / "lighthouse-note.md").write_text(
        "# Keeper's note\n\nThe lighthouse keeper must trim the lamp wick before sunset."
    )
    titles = {"lighthouse-note.md": DocumentMetadata(title="Signal station memo")}
    events = [
        event.model_copy(
            update={
                "acl": ("team-g",),
                "metadata": titles.get(Path(event.uri).name, event.metadata),
            }
        )
        for event in _events(indexed.folder)
        if Path(event.uri).name.startswith("lighthouse")
    ]
    encoders = indexed.app.state.services.encoders
    store = ElasticsearchStore(indexed.store)
    pipeline = IndexingPipeline(indexed.store, store, encoders, ContentReader(indexed.store))
    await pipeline.setup()
    result = await pipeline.process(events)
    assert not failed_outcomes(result), failed_outcomes(result)
    await store.close()
    await indexed.es.indices.refresh(index=indexed.store.chunks_alias)
    ids = {Path(event.uri).name: event.doc_id for event in events}
    executor = ThreadPoolExecutor(max_workers=1)
    retriever = ChunkRetriever(
        indexed.es, ApiSettings(), indexed.store.chunks_alias, encoders, executor
    )
    try:
        yield Manual(
            retriever,
            Caller(name="keeper", principals=("team-g",)),
            ids,
            SearchFilters(doc_id=sorted(ids.values())),
        )
    finally:
        await retriever.close()
        executor.shutdown()


async def test_group_by_document_gives_one_hit_per_document(
    indexed: Indexed, manual: Manual
) -> None:
    from query_api.retrieval import SearchQuery
    from query_api.schemas import GroupBy

    question = "what does the lighthouse keeper do before sunset"
    chunks = await manual.retriever.search(
        SearchQuery(question, None, k=50, modalities=("text",), filters=manual.filters),
        manual.caller,
    )
    by_doc = [chunk.doc_id for chunk in chunks.chunks]
    manual_id = manual.ids["lighthouse-manual.md"]
    assert by_doc.count(manual_id) >= 3, by_doc  # the manual's chunks crowd the list
    grouped = await manual.retriever.search(
        SearchQuery(
            question,
            None,
            k=10,
            modalities=("text",),
            filters=manual.filters,
            group_by=GroupBy.DOCUMENT,
        ),
        manual.caller,
    )
    assert sorted(chunk.doc_id for chunk in grouped.chunks) == sorted(manual.ids.values())
    first_of = {doc_id: chunks.chunks[by_doc.index(doc_id)].chunk_id for doc_id in by_doc}
    for chunk in grouped.chunks:
        assert chunk.chunk_id == first_of[chunk.doc_id]
        same_doc = [c.chunk_id for c in chunks.chunks if c.doc_id == chunk.doc_id]
        assert chunk.matched_chunks == len(same_doc)
        assert list(chunk.next_chunk_ids) == same_doc[1:4]
    assert [c.doc_id for c in grouped.chunks] == list(dict.fromkeys(by_doc))
    # Through HTTP, over the public corpus: distinct documents, counts on every hit.
    response = await indexed.client.post(
        "/search", json={"query": "lighthouse keeper", "k": 20, "group_by": "document"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["group_by"] == "document"
    keys = [(hit["doc_id"], hit["modality"]) for hit in body["hits"]]
    assert len(keys) == len(set(keys))
    assert all(hit["matched_chunks"] >= 1 for hit in body["hits"])
    assert set(manual.ids.values()).isdisjoint(hit["doc_id"] for hit in body["hits"])


async def test_bm25_searches_titles_with_their_boost(indexed: Indexed, manual: Manual) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from query_api.retrieval import ChunkRetriever, SearchQuery
    from query_api.schemas import Mode

    encoders = indexed.app.state.services.encoders
    query = SearchQuery("memo", None, k=10, mode=Mode.LEXICAL, filters=manual.filters)
    found: dict[str, set[str]] = {}
    with ThreadPoolExecutor(max_workers=1) as executor:
        for name, settings in {
            "titles": ApiSettings(title_boost=2.0),
            "best_fields": ApiSettings(title_boost=2.0, lexical_match_type="best_fields"),
            "cross_fields": ApiSettings(title_boost=2.0, lexical_match_type="cross_fields"),
            "no titles": ApiSettings(title_boost=0.0),
        }.items():
            retriever = ChunkRetriever(
                indexed.es, settings, indexed.store.chunks_alias, encoders, executor
            )
            outcome = await retriever.search(query, manual.caller)
            found[name] = {chunk.doc_id for chunk in outcome.chunks}
            await retriever.close()
    note_id = manual.ids["lighthouse-note.md"]
    # "memo" is only in the note's title ("Signal station memo"), never in a chunk's text.
    assert found["titles"] == found["best_fields"] == found["cross_fields"] == {note_id}
    assert found["no titles"] == set()


async def test_a_request_overrides_fusion_like_the_settings_do(indexed: Indexed) -> None:
    query = "how far behind is the reader of the log"
    tuned: dict[str, Any] = {
        "weights": {"bm25": 0.0, "clip_knn": 2.0, "text_knn": 1.0},
        "rrf_k": 5,
    }
    overridden = await _search(indexed.client, query=query, k=15, **tuned)
    assert all("bm25" not in hit["retrievers"] for hit in overridden)
    for hit in overridden:
        expected = sum(
            (2.0 if name == "clip_knn" else 1.0) / (5 + rank)
            for name, rank in hit["retrievers"].items()
        )
        assert hit["score"] == pytest.approx(expected)
    async with _client_with(indexed, **tuned) as other:
        assert await _search(other, query=query, k=15) == overridden
    assert await _search(indexed.client, query=query, k=15) != overridden


class WordCountReranker:
    """Deterministic: scores a passage by how often it says ``word`` (pipeline order only,
    no quality: no cross-encoder weights ship offline)."""

    name = "word-count"

    def __init__(self, word: str) -> None:
        self.word = word
        self.calls: list[tuple[str, list[str]]] = []

    def rerank(self, query: str, passages: Sequence[str]) -> list[float]:
        self.calls.append((query, list(passages)))
        return [float(passage.lower().split().count(self.word)) for passage in passages]


async def test_reranking_reorders_the_top_candidates_before_grouping(
    indexed: Indexed, manual: Manual
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from query_api.retrieval import ChunkRetriever, SearchQuery
    from query_api.schemas import GroupBy, Profile

    encoders = indexed.app.state.services.encoders
    reranker = WordCountReranker("fog")
    question = "what does the lighthouse keeper do before sunset"

    def query(**options: Any) -> SearchQuery:
        return SearchQuery(
            question, None, k=10, modalities=("text",), filters=manual.filters, **options
        )

    with ThreadPoolExecutor(max_workers=1) as executor:
        retriever = ChunkRetriever(
            indexed.es,
            ApiSettings(rerank_top_n=30),
            indexed.store.chunks_alias,
            encoders,
            executor,
            reranker=reranker,
        )
        try:
            plain = await retriever.search(query(profile=Profile.PLAIN), manual.caller)
            assert reranker.calls == []  # the baseline is never reranked
            assert all(chunk.rerank_score is None for chunk in plain.chunks)
            reranked = await retriever.search(query(), manual.caller)
            grouped = await retriever.search(query(group_by=GroupBy.DOCUMENT), manual.caller)
        finally:
            await retriever.close()
    assert reranked.reranker == "word-count"
    assert "rerank" in reranked.timings_ms
    passages = reranker.calls[0][1]
    assert reranker.calls[0][0] == question
    titles = {"Lighthouse keeping manual", "Signal station memo"}
    assert {passage.split(" > ")[0].split("\n")[0] for passage in passages} == titles
    scores = [chunk.rerank_score for chunk in reranked.chunks]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert "fog" in reranked.chunks[0].text.lower().split()
    assert reranked.chunks[-1].rerank_score == 0.0
    manual_id = manual.ids["lighthouse-manual.md"]
    best = next(chunk for chunk in grouped.chunks if chunk.doc_id == manual_id)
    assert best.chunk_id == reranked.chunks[0].chunk_id
    assert (best.matched_chunks or 0) >= 3
    # Through HTTP with no reranker configured: no score, no name.
    response = await indexed.client.post("/search", json={"query": question})
    assert response.json()["reranker"] is None
    assert all(hit["rerank_score"] is None for hit in response.json()["hits"])


async def test_bm25_searches_the_heading_path_with_its_boost(
    indexed: Indexed, manual: Manual
) -> None:
    from query_api.queries import bm25_body, filter_clauses

    clauses = filter_clauses(manual.filters, manual.caller.principals, ["text"])

    async def scores(section_boost: float) -> dict[str, float]:
        fields = ApiSettings(section_boost=section_boost).lexical_fields()
        body = bm25_body("log book", clauses, size=100, fields=fields)
        response = await indexed.es.search(index=indexed.store.chunks_alias, body=body)
        return {str(hit["_id"]): float(hit["_score"]) for hit in response["hits"]["hits"]}

    boosted, unboosted = await scores(3.0), await scores(0.0)
    assert set(boosted) == set(unboosted)
    sources = await indexed.es.mget(
        index=indexed.store.chunks_alias, ids=list(boosted), source_includes=["section"]
    )
    sections = {str(doc["_id"]): doc["_source"].get("section") or "" for doc in sources["docs"]}
    under_heading = {chunk_id for chunk_id, path in sections.items() if "Log book" in path}
    assert under_heading, sections
    for chunk_id in boosted:
        if chunk_id in under_heading:
            assert boosted[chunk_id] > unboosted[chunk_id] + 0.1
        else:
            assert boosted[chunk_id] == pytest.approx(unboosted[chunk_id])
