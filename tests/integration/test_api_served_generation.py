"""The API reads the manifests of the generation it serves, against the real Elasticsearch.

A generation that chunks differently keeps its manifests in its own documents index
(``GenerationMeta.documents_index``). Two generations of one alias are made by hand: 1
with the shared documents index, 2 with its own; each index holds a different manifest of
the same document. ``GET /documents/{id}``, the thumbnail's manifest (the watched root it
was read under) and ``/health``'s searchable count follow the alias from one to the other.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from elasticsearch import AsyncElasticsearch
from numpy.typing import NDArray
from PIL import Image

from indexer.change_log import ChangeLogSettings
from indexer.encoders import Encoders
from indexer.events import derive_doc_id
from indexer.generations.meta import GenerationConfig, GenerationMeta
from indexer.generations.naming import generation_documents_index
from indexer.generations.registry import GenerationRegistry
from indexer.manifest import ChunkPosition, DocumentFields, Manifest
from indexer.settings import IndexerSettings
from indexer.store.mappings import documents_index_body
from indexer.store.records import manifest_source
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.settings import ApiSettings

SOURCE = "fs:photos"


class HashingTextEmbedder:
    """Unit vectors from a hash: the routes under test never embed a query."""

    name = "fake-hashing"
    dimensions = 8
    tokenizer_name = "whitespace"
    max_input_tokens = 254

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_texts(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = [np.ones(self.dimensions, np.float32) / np.sqrt(self.dimensions) for _ in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dimensions), np.float32)


@dataclass
class Stack:
    http: httpx.AsyncClient
    registry: GenerationRegistry
    shared: str
    own: str
    first: str
    second: str
    doc_id: str


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def _manifest(doc_id: str, uri: str, revision: int, root: Path, chunk_id: str) -> Manifest:
    return Manifest(
        doc_id=doc_id,
        revision=revision,
        fields=DocumentFields(source=SOURCE, uri=uri, content_type="image/png", root=str(root)),
        chunks=(ChunkPosition(chunk_id=chunk_id, modality="image", order=0),),
    )


async def _index_manifests(
    es: AsyncElasticsearch, index: str, manifests: Sequence[Manifest]
) -> None:
    await es.indices.create(index=index, **documents_index_body())
    for manifest in manifests:
        await es.index(index=index, id=manifest.doc_id, document=manifest_source(manifest))


async def _image_chunk(
    es: AsyncElasticsearch, generation: str, chunk_id: str, doc_id: str, uri: str, data: bytes
) -> None:
    chunk = {
        "chunk_id": chunk_id,
        "doc_id": doc_id,
        "source": SOURCE,
        "uri": uri,
        "modality": "image",
        "content_type": "image/png",
        "image_sha256": hashlib.sha256(data).hexdigest(),
        "order": 0,
    }
    await es.index(index=generation, id=chunk_id, document=chunk)


@pytest.fixture
async def stack(
    es_url: str, es_client: AsyncElasticsearch, unique_name: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    """Generation 1 (shared documents index) and 2 (its own), the alias on 2. The photo
    lies under ``photos/``; the shared manifest says it was read under ``elsewhere/`` (so
    a thumbnail read with it is refused), generation 2's own manifest says ``photos/``."""
    alias, shared = f"test-{unique_name}-chunks", f"test-{unique_name}-documents"
    photos, elsewhere = tmp_path / "photos", tmp_path / "elsewhere"
    photos.mkdir()
    elsewhere.mkdir()
    data = _png()
    (photos / "cat.png").write_bytes(data)
    uri = (photos / "cat.png").as_uri()
    doc_id = derive_doc_id(SOURCE, uri)
    encoders = Encoders(text=HashingTextEmbedder(), clip=None)
    config = GenerationConfig(text_model="fake-hashing", text_dimensions=8)
    registry = GenerationRegistry(es_client, alias)
    first = await registry.create(GenerationMeta(config=config, state="live"))
    own = generation_documents_index(shared, alias, f"{alias}-000002")
    second = await registry.create(
        GenerationMeta(config=config, state="ready", documents_index=own)
    )
    try:
        await _index_manifests(
            es_client,
            shared,
            [
                _manifest(doc_id, uri, 3, elsewhere, "chunk-g1"),
                *(_manifest(f"{SOURCE}:other-{n}", uri, 1, photos, f"o{n}") for n in range(3)),
            ],
        )
        gone = Manifest(doc_id=f"{SOURCE}:gone", revision=2, deleted=True)
        await _index_manifests(
            es_client, own, [_manifest(doc_id, uri, 7, photos, "chunk-g2"), gone]
        )
        await _image_chunk(es_client, first, "chunk-g1", doc_id, uri, data)
        await _image_chunk(es_client, second, "chunk-g2", doc_id, uri, data)
        await es_client.indices.refresh(index=f"test-{unique_name}-*")
        await registry.switch(second)
        store = IndexerSettings(
            elasticsearch_url=es_url,
            chunks_alias=alias,
            documents_index=shared,
            allowed_roots=(tmp_path,),
        )
        app = create_app(
            ApiSettings(lag_timeout_s=2, thumbnail_failure_ttl_s=0),
            store_settings=store,
            generation_settings=GenerationSettings(),
            change_log_settings=ChangeLogSettings(worker_app_id=f"test-{unique_name}"),
            encoders_factory=lambda: encoders,
            llm_factory=lambda _settings: None,
            static_directory=None,
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                yield Stack(http, registry, shared, own, first, second, doc_id)
    finally:
        created = await es_client.indices.get(index=f"test-{unique_name}-*")
        if created.body:
            await es_client.indices.delete(index=",".join(created.body))


async def _revision_once_served(stack: Stack, revision: int, timeout_s: float = 20) -> None:
    """Until the API follows the alias (it trusts a reading of it for a few seconds)."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = await stack.http.get(f"/documents/{stack.doc_id}")
        assert response.status_code == 200, response.text
        if response.json()["revision"] == revision:
            return
        assert time.monotonic() < deadline, f"still revision {response.json()['revision']}"
        await asyncio.sleep(0.5)


async def test_the_api_reads_the_manifests_of_the_generation_it_serves(stack: Stack) -> None:
    http = stack.http
    document = (await http.get(f"/documents/{stack.doc_id}")).json()
    assert document["revision"] == 7  # generation 2's own documents index
    assert [chunk["chunk_id"] for chunk in document["chunks"]] == ["chunk-g2"]
    assert (await http.get(f"/documents/{SOURCE}:other-0")).status_code == 404  # shared only
    thumbnail = await http.get("/images/chunk-g2")
    assert thumbnail.status_code == 200, thumbnail.text  # read under the own manifest's root
    assert Image.open(io.BytesIO(thumbnail.content)).format == "JPEG"
    health: dict[str, Any] = (await http.get("/health")).json()
    assert health["generation"] == stack.second
    assert health["documents_index"] == stack.own
    assert health["documents_searchable"] == 1  # the tombstone is not searchable

    await stack.registry.switch(stack.first)  # a rollback: the shared documents index
    await _revision_once_served(stack, 3)
    document = (await http.get(f"/documents/{stack.doc_id}")).json()
    assert [chunk["chunk_id"] for chunk in document["chunks"]] == ["chunk-g1"]
    assert (await http.get(f"/documents/{SOURCE}:other-0")).status_code == 200
    refused = await http.get("/images/chunk-g1")
    assert refused.status_code == 404  # the shared manifest's root does not hold the photo
    assert "outside the roots" in refused.json()["detail"]
    health = (await http.get("/health")).json()
    assert health["generation"] == stack.first
    assert health["documents_index"] == stack.shared
    assert health["documents_searchable"] == 4

    await stack.registry.switch(stack.second)  # promoted again: its own index again
    await _revision_once_served(stack, 7)
    assert (await http.get("/images/chunk-g2")).status_code == 200
