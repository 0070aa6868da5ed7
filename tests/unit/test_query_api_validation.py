"""Bad input is a 4xx with a clear message, decided before Elasticsearch is asked.

The app runs in-process with Elasticsearch and Kafka pointed at a closed port and a fake
text encoder (deterministic hashing: this tests the HTTP layer, never retrieval quality).
Valid requests that do need Elasticsearch therefore get a 503, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from indexer.change_log import ChangeLogSettings
from indexer.encoders.base import Encoders
from indexer.settings import IndexerSettings
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.settings import ApiKey, ApiSettings

CLOSED = "127.0.0.1:9"


class HashingTextEmbedder:
    """Deterministic unit vectors from a hash: enough for the HTTP layer, meaningless."""

    name = "fake-hashing"
    dimensions = 8
    tokenizer_name = "whitespace"
    max_input_tokens = 254

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_texts(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()[: self.dimensions]
            row = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) + 1
            rows.append(row / np.linalg.norm(row))
        return np.stack(rows) if rows else np.zeros((0, self.dimensions), np.float32)


def _app_settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "lag_timeout_s": 0.5,
        "max_upload_bytes": 50_000,
        "elasticsearch_timeout_s": 2,
        "api_keys": {"good-key": ApiKey(name="alice", principals=("team-a",))},
    }
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with _client(_app_settings()) as found:
        yield found


class HashingClip(HashingTextEmbedder):
    """A fake dual encoder (hash of the text, mean colour of the image): HTTP layer only."""

    name = "fake-clip"
    max_text_tokens = 77

    def embed_images(self, images: Sequence[Image.Image]) -> NDArray[np.float32]:
        return self.embed_texts([str(image.resize((1, 1)).getpixel((0, 0))) for image in images])


class _client:
    def __init__(self, settings: ApiSettings, *, clip: bool = False) -> None:
        encoders = Encoders(text=HashingTextEmbedder(), clip=HashingClip() if clip else None)
        self.app = create_app(
            settings,
            store_settings=IndexerSettings(elasticsearch_url=f"http://{CLOSED}"),
            generation_settings=GenerationSettings(),
            change_log_settings=ChangeLogSettings(kafka_bootstrap=CLOSED),
            encoders_factory=lambda: encoders,
            llm_factory=lambda _settings: None,
            static_directory=None,
        )
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://api"
        )

    async def __aenter__(self) -> httpx.AsyncClient:
        await self.lifespan.__aenter__()
        return self.http

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self.lifespan.__aexit__(None, None, None)


def _png(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, "PNG")
    return buffer.getvalue()


def _detail(response: httpx.Response) -> str:
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    return detail


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"query": "   "}, 422, "give a text query, an image, or both"),
        ({}, 422, "give a text query"),
        ({"query": "x", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
        ({"query": "x", "k": 101}, 422, "k: Input should be less than or equal to 100"),
        ({"query": "x", "mode": "fuzzy"}, 422, "mode: Input should be"),
        ({"query": "x", "profile": "tuned"}, 422, "profile: Input should be 'default' or 'plain'"),
        ({"query": "x", "group_by": "page"}, 422, "group_by: Input should be 'document'"),
        ({"query": "x", "rrf_k": 0}, 422, "rrf_k: Input should be greater than or equal to 1"),
        ({"query": "x", "rrf_k": 1001}, 422, "rrf_k: Input should be less than or equal to 1000"),
        ({"query": "x", "weights": {"bm25": -1}}, 422, "weight of bm25 must be 0 to 10"),
        ({"query": "x", "weights": {"text_knn": 11}}, 422, "weight of text_knn must be 0 to 10"),
        ({"query": "x", "weights": {"magic": 1}}, 422, "weights.magic"),
        (
            {"query": "x", "profile": "plain", "rrf_k": 10},
            422,
            "profile plain has a fixed fusion: drop rrf_k and weights",
        ),
        (
            {"query": "x", "mode": "lexical", "weights": {"bm25": 0}},
            422,
            "nothing to search: mode lexical",
        ),
        (
            {"query": "x", "profile": "plain", "group_by": "document"},
            422,
            "profile plain is the ungrouped baseline: drop group_by",
        ),
        ({"query": "x", "filters": {"colour": ["red"]}}, 422, "filters.colour: unknown field"),
        ({"query": "x", "page": 2}, 422, "page: unknown field"),
        ({"query": "x", "modalities": []}, 422, "modalities must name text, image or both"),
        ({"query": "x", "modalities": ["audio"]}, 422, "modalities.0"),
        ({"query": "x" * 2001}, 422, "query: String should have at most 2000 characters"),
        ({"query": "x", "filters": {"indexed_after": "yesterday"}}, 422, "indexed_after"),
    ],
)
async def test_invalid_search_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, needle: str
) -> None:
    response = await client.post("/search", json=body)
    assert response.status_code == status, response.text
    assert needle in _detail(response)


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/search", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in _detail(response)


async def test_a_body_that_is_not_utf8_json_is_4xx_not_500(client: httpx.AsyncClient) -> None:
    """Found by schemathesis in ``mmrag bench faults``: PNG bytes sent as JSON to /search
    made the 422 handler fail while encoding the raw body it echoed (a 500)."""
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"
    headers = {"content-type": "application/json"}
    response = await client.post("/search", content=png, headers=headers)
    assert response.status_code == 422, response.text
    assert "bytes of body that are not JSON" in response.text
    response = await client.post("/ask", content=png, headers=headers)
    assert response.status_code == 400, response.text  # FastAPI's own parser refuses it
    assert "parsing the body" in _detail(response)


async def test_other_content_types_are_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/search", content=b"query=x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert "multipart/form-data" in _detail(response)


async def test_image_search_without_clip_is_422(client: httpx.AsyncClient) -> None:
    image = base64.b64encode(_png()).decode()
    response = await client.post("/search", json={"image_base64": image})
    assert response.status_code == 422
    assert "image search needs a CLIP model" in _detail(response)
    response = await client.post("/search", files={"image": ("q.png", _png(), "image/png")})
    assert response.status_code == 422
    assert "image search needs a CLIP model" in _detail(response)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"definitely not an image", "cannot be used"),
        (b"%PDF-1.7\n%%EOF", "cannot be used"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "cannot be used"),
    ],
)
async def test_undecodable_images_are_422(
    client: httpx.AsyncClient, data: bytes, needle: str
) -> None:
    response = await client.post(
        "/search", files={"image": ("q.png", data, "image/png")}, data={"query": "x"}
    )
    assert response.status_code == 422
    assert needle in _detail(response)
    response = await client.post(
        "/search", json={"query": "x", "image_base64": base64.b64encode(data).decode()}
    )
    assert response.status_code == 422


async def test_bad_base64_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/search", json={"image_base64": "%%%not-base64%%%"})
    assert response.status_code == 422
    assert "base64" in _detail(response)


async def test_oversize_uploads_are_413(client: httpx.AsyncClient) -> None:
    big = b"\x00" * 60_000
    response = await client.post("/search", files={"image": ("big.png", big, "image/png")})
    assert response.status_code == 413
    assert "limit" in _detail(response)
    response = await client.post("/search", json={"image_base64": base64.b64encode(big).decode()})
    assert response.status_code == 413
    huge = b"\x00" * 200_000
    response = await client.post("/search", json={"image_base64": base64.b64encode(huge).decode()})
    assert response.status_code == 413


async def test_form_field_errors_are_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/search", data={"query": "x", "colour": "red"})
    assert response.status_code == 422
    assert "unknown form field(s) colour" in _detail(response)
    response = await client.post("/search", data={"query": "x", "filters": "{not json"})
    assert response.status_code == 422
    assert "filters must be a JSON object" in _detail(response)
    response = await client.post("/search", data={"query": "x", "k": "many"})
    assert response.status_code == 422
    assert "k: Input should be a valid integer" in _detail(response)
    response = await client.post("/search", data={"query": " "})
    assert response.status_code == 422
    response = await client.post("/search", data={"query": "x", "weights": "{bm25: 2"})
    assert response.status_code == 422
    assert "weights must be a JSON object" in _detail(response)
    response = await client.post("/search", data={"query": "x", "weights": '{"bm25": 20}'})
    assert response.status_code == 422
    assert "weight of bm25 must be 0 to 10" in _detail(response)
    response = await client.post("/search", data={"query": "x", "rrf_k": "0"})
    assert response.status_code == 422
    assert "rrf_k" in _detail(response)


async def test_lexical_image_search_is_422_before_elasticsearch() -> None:
    async with _client(_app_settings(), clip=True) as client:
        response = await client.post(
            "/search",
            data={"query": "x", "mode": "lexical"},
            files={"image": ("q.png", _png(), "image/png")},
        )
        assert response.status_code == 422
        assert "lexical mode searches words only" in _detail(response)
        # The same image in hybrid mode passes validation and needs Elasticsearch.
        response = await client.post(
            "/search", data={"query": "x"}, files={"image": ("q.png", _png(), "image/png")}
        )
        assert response.status_code == 503


async def test_plain_profile_refuses_images_before_elasticsearch() -> None:
    async with _client(_app_settings(), clip=True) as client:
        response = await client.post(
            "/search",
            data={"query": "x", "profile": "plain"},
            files={"image": ("q.png", _png(), "image/png")},
        )
        assert response.status_code == 422
        assert "profile plain searches by text only" in _detail(response)
        image = base64.b64encode(_png()).decode()
        response = await client.post("/search", json={"image_base64": image, "profile": "plain"})
        assert response.status_code == 422
        assert "profile plain searches by text only" in _detail(response)
        response = await client.post("/search", json={"query": "x", "profile": "plain"})
        assert response.status_code == 503


async def test_valid_search_with_elasticsearch_down_is_503(client: httpx.AsyncClient) -> None:
    response = await client.post("/search", json={"query": "kafka"})
    assert response.status_code == 503
    assert "Elasticsearch" in _detail(response)


async def test_unknown_api_key_is_401(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("POST", "/search"),
        ("POST", "/ask"),
        ("GET", "/documents/x"),
        ("GET", "/images/x"),
    ):
        response = await client.request(
            method, path, json={"query": "x", "question": "x"}, headers={"X-API-Key": "nope"}
        )
        assert response.status_code == 401, path
        assert _detail(response) == "unknown API key"


async def test_missing_key_is_401_when_keys_are_required() -> None:
    async with _client(_app_settings(require_api_key=True)) as client:
        response = await client.post("/search", json={"query": "x"})
        assert response.status_code == 401
        assert "X-API-Key" in _detail(response)
        response = await client.get("/health")  # ops routes follow (MMRAG_API_PROTECT_OPS)
        assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"question": ""}, "question: String should have at least 1 character"),
        ({"question": "   "}, "give a text query"),
        ({"question": "x", "k": 21}, "k: Input should be less than or equal to 20"),
        ({"question": "x", "stream": "sometimes"}, "stream: Input should be a valid boolean"),
        ({"query": "x"}, "question: Field required"),
    ],
)
async def test_invalid_ask_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], needle: str
) -> None:
    response = await client.post("/ask", json=body)
    assert response.status_code == 422, response.text
    assert needle in _detail(response)


async def test_health_answers_when_everything_is_down(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "degraded"
    assert health["elasticsearch"].startswith("unreachable")
    assert health["kafka_lag"] is None
    assert health["backlog"] is None
    assert health["text_model"] == "fake-hashing"
    assert health["clip_model"] is None


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.post("/search", json={"query": "   "})
    await client.get("/documents/some-id", headers={"X-API-Key": "nope"})
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'mmrag_api_requests_total{endpoint="/search",method="POST",status="422"} 1.0' in text
    assert 'endpoint="/documents/{doc_id}",method="GET",status="401"' in text
    assert "mmrag_api_request_seconds_bucket" in text


async def test_openapi_documents_both_search_bodies(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    content = schema["paths"]["/search"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert content["multipart/form-data"]["schema"]["properties"]["image"]["format"] == "binary"
    components = schema["components"]["schemas"]
    assert {"SearchRequest", "SearchFilters", "Mode"} <= set(components)
    assert json.dumps(schema)  # serialisable
