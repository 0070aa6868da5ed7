"""Cross-modal retrieval *quality* (text→image, image→text) needs real CLIP weights.

None can be installed on the machines this project is developed on, so this test runs
only when ``MMRAG_TEST_CLIP_MODEL`` names a directory (or hub id) with real CLIP/SigLIP
weights, and is reported as skipped, with that reason, otherwise. The CLIP *code path* is
tested everywhere with the tiny random CLIP (see test_worker.py and test_query_api.py).
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from PIL import Image, ImageDraw

from indexer.change_log import ChangeLogSettings
from indexer.encoders import EncoderSettings
from indexer.encoders.loading import load_encoders
from indexer.events import ChangeEvent, derive_doc_id, utc_now
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.settings import ApiSettings

REAL_CLIP = os.environ.get("MMRAG_TEST_CLIP_MODEL")
pytestmark = pytest.mark.skipif(
    not REAL_CLIP,
    reason="no real CLIP weights (set MMRAG_TEST_CLIP_MODEL): cross-modal quality not measured",
)

SHAPES = {
    "red-circle.png": ("red", "circle", "a red circle on a white background"),
    "blue-square.png": ("blue", "square", "a blue square on a white background"),
    "green-triangle.png": ("green", "triangle", "a green triangle on a white background"),
    "yellow-star.png": ("yellow", "star", "a yellow star on a white background"),
}


def _draw(color: str, shape: str) -> bytes:
    image = Image.new("RGB", (224, 224), "white")
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse((40, 40, 184, 184), fill=color)
    elif shape == "square":
        draw.rectangle((40, 40, 184, 184), fill=color)
    elif shape == "triangle":
        draw.polygon([(112, 30), (194, 190), (30, 190)], fill=color)
    else:
        draw.polygon(
            [
                (112, 20),
                (135, 85),
                (205, 85),
                (148, 125),
                (170, 195),
                (112, 152),
                (54, 195),
                (76, 125),
                (19, 85),
                (89, 85),
            ],
            fill=color,
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def test_text_to_image_and_image_to_text_with_real_clip(
    es_url: str, es_client: AsyncElasticsearch, tmp_path: Path
) -> None:
    assert REAL_CLIP is not None
    suffix = uuid.uuid4().hex[:10]
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-{suffix}-chunks",
        documents_index=f"test-{suffix}-documents",
        allowed_roots=(tmp_path,),  # events made here declare no watched root
    )
    encoders = load_encoders(EncoderSettings(clip_model=REAL_CLIP, clip_required=True))
    events = []
    for name, (color, shape, caption) in SHAPES.items():
        (tmp_path / name).write_bytes(_draw(color, shape))
        (tmp_path / f"{name}.txt").write_text(f"This note describes {caption}.")
        for file_name in (name, f"{name}.txt"):
            events.append(
                ChangeEvent(
                    event_id=uuid.uuid4().hex,
                    source="fs:shapes",
                    doc_id=derive_doc_id("fs:shapes", file_name),
                    op="upsert",
                    uri=(tmp_path / file_name).as_uri(),
                    revision=1,
                    emitted_at=utc_now(),
                )
            )
    store = ElasticsearchStore(settings)
    pipeline = IndexingPipeline(settings, store, encoders, ContentReader(settings))
    await pipeline.setup()
    await pipeline.process(events)
    await store.close()

    app = create_app(
        ApiSettings(),
        store_settings=settings,
        generation_settings=GenerationSettings(),
        change_log_settings=ChangeLogSettings(),
        encoders_factory=lambda: encoders,
        llm_factory=lambda _: None,
    )
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api"
            ) as client,
        ):
            for name, (color, shape, _) in SHAPES.items():
                found = await client.post(
                    "/search",
                    json={
                        "query": f"a {color} {shape}",
                        "modalities": ["image"],
                        "mode": "vector",
                        "k": 3,
                    },
                )
                top = [hit["uri"].rsplit("/", 1)[-1] for hit in found.json()["hits"]]
                assert name in top, (name, top)  # text → image
                found = await client.post(
                    "/search",
                    files={"image": (name, (tmp_path / name).read_bytes(), "image/png")},
                    data={"modalities": "text", "mode": "vector", "k": "3"},
                )
                top = [hit["uri"].rsplit("/", 1)[-1] for hit in found.json()["hits"]]
                assert f"{name}.txt" in top, (name, top)  # image → text
    finally:
        await es_client.options(ignore_status=404).indices.delete(
            index=f"{settings.chunks_alias}-000001,{settings.documents_index}"
        )
