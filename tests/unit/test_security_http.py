"""The query API's guards at the HTTP boundary: keys before bodies, bounded bodies while
they stream, bounded metric labels, protectable ops routes, anonymous thumbnail rate.

Bodies are sent to a real uvicorn server over a socket, chunk by chunk, so that what
counts is what the server did before answering (how much of the body it took in), not
what a test client buffered. Elasticsearch and Kafka point at a closed port and the text
encoder is a fake: only the HTTP layer is under test here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from numpy.typing import NDArray

from indexer.change_log import ChangeLogSettings
from indexer.encoders.base import Encoders
from indexer.settings import IndexerSettings
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.guards import TokenBuckets
from query_api.settings import ApiKey, ApiSettings

CLOSED = "127.0.0.1:9"
KEY = "good-key"
CHUNK = 64 * 1024


class FakeTextEmbedder:
    name = "fake-hashing"
    dimensions = 8
    tokenizer_name = "whitespace"
    max_input_tokens = 254

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_texts(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = [
            np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], np.uint8).astype(np.float32) + 1
            for t in texts
        ]
        return np.stack([row / np.linalg.norm(row) for row in rows])


def settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "lag_timeout_s": 0.3,
        "elasticsearch_timeout_s": 1,
        "max_upload_bytes": 200_000,
        "max_body_bytes": 100_000,
        "api_keys": {KEY: ApiKey(name="alice")},
    }
    return ApiSettings(**(values | overrides))


def app_for(api: ApiSettings) -> Any:
    encoders = Encoders(text=FakeTextEmbedder(), clip=None)
    return create_app(
        api,
        store_settings=IndexerSettings(elasticsearch_url=f"http://{CLOSED}"),
        generation_settings=GenerationSettings(),
        change_log_settings=ChangeLogSettings(kafka_bootstrap=CLOSED),
        encoders_factory=lambda: encoders,
        llm_factory=lambda _settings: None,
        static_directory=None,
    )


@contextlib.asynccontextmanager
async def client(api: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = app_for(api)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        yield http


@contextlib.asynccontextmanager
async def server(api: ApiSettings) -> AsyncIterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(app_for(api), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:  # noqa: ASYNC110 (uvicorn's ``started`` is a plain flag)
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        running.should_exit = True
        await task


async def send_chunked(
    port: int, path: str, total: int, headers: dict[str, str], prefix: bytes = b""
) -> tuple[int, dict[str, Any], int]:
    """POST ``total`` bytes as a chunked body, chunk by chunk, stopping as soon as the
    server answers. Returns the status, the JSON answer and how many body bytes went out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    writer.write(head.encode())
    if prefix:
        writer.write(b"%x\r\n%s\r\n" % (len(prefix), prefix))
    sent = len(prefix)
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    try:
        while sent < total and not answer.done():
            block = b"x" * min(CHUNK, total - sent)
            writer.write(b"%x\r\n%s\r\n" % (len(block), block))
            try:
                await writer.drain()
            except ConnectionError:
                break
            sent += len(block)
            await asyncio.wait({answer}, timeout=0.005)
        if not answer.done():
            writer.write(b"0\r\n\r\n")
        status_head = (await asyncio.wait_for(answer, 10)).decode()
        length = int(
            next(
                line.split(":", 1)[1]
                for line in status_head.split("\r\n")
                if line.lower().startswith("content-length")
            )
        )
        body = json.loads(await reader.readexactly(length))
        return int(status_head.split()[1]), body, sent
    finally:
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_caller_without_a_key_is_refused_before_the_body_is_read() -> None:
    async with server(settings(require_api_key=True)) as port:
        status, body, sent = await send_chunked(port, "/ask", 50_000_000, {})
    assert status == 401
    assert "API key is required" in body["detail"]
    assert sent < 2_000_000  # answered at once: 50 MB were never taken in


IMAGE_PART = (
    b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


@pytest.mark.parametrize(
    ("path", "content_type", "prefix", "limit"),
    [
        ("/ask", "application/json", b'{"question": "', 100_000),
        ("/search", "multipart/form-data; boundary=xyz", IMAGE_PART, 200_000 * 4 // 3 + 65_536),
    ],
)
async def test_a_chunked_body_over_the_limit_is_cut_off_while_streaming(
    path: str, content_type: str, prefix: bytes, limit: int
) -> None:
    async with server(settings()) as port:
        status, body, sent = await send_chunked(
            port, path, 60_000_000, {"Content-Type": content_type, "X-API-Key": KEY}, prefix
        )
    assert status == 413
    assert f"over the {limit} byte limit" in body["detail"]
    assert sent < limit + 2_000_000  # stopped near the limit, not after 60 MB


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    async with client(settings()) as http:
        response = await http.post(
            "/ask",
            content=b"{}",
            headers={"Content-Length": "100001", "Content-Type": "application/json"},
        )
        fine = await http.post("/ask", json={"question": "what?"})
    assert response.status_code == 413
    assert "over the 100000 byte limit" in response.json()["detail"]
    assert fine.status_code != 413


async def test_metrics_count_unknown_methods_as_other() -> None:
    async with client(settings()) as http:
        for number in range(300):
            await http.request(f"BREW{number}", "/search")
        await http.request("GET", "/no/such/path/42")
        metrics = (await http.get("/metrics")).text
    assert 'method="other"' in metrics
    assert "BREW" not in metrics
    assert "/no/such/path/42" not in metrics
    assert len(metrics) < 20_000


@pytest.mark.parametrize(
    ("overrides", "open_without_key"),
    [
        ({}, True),
        ({"require_api_key": True}, False),
        ({"require_api_key": True, "protect_ops": False}, True),
        ({"protect_ops": True}, False),
    ],
)
async def test_health_and_metrics_are_protectable(
    overrides: dict[str, Any], open_without_key: bool
) -> None:
    async with client(settings(**overrides)) as http:
        for path in ("/health", "/metrics"):
            anonymous = await http.get(path)
            keyed = await http.get(path, headers={"X-API-Key": KEY})
            wrong = await http.get(path, headers={"X-API-Key": "nope"})
            assert (anonymous.status_code == 200) is open_without_key, path
            assert keyed.status_code == 200, path
            if not open_without_key:
                assert anonymous.status_code == 401
                assert wrong.status_code == 401


async def test_anonymous_thumbnails_are_rate_limited_per_client() -> None:
    api = settings(anonymous_image_rate=0.01, anonymous_image_burst=3)
    async with client(api) as http:
        anonymous = [(await http.get(f"/images/c{n}")).status_code for n in range(5)]
        limited = await http.get("/images/c9")
        keyed = await http.get("/images/c9", headers={"X-API-Key": KEY})
    assert anonymous[:3] == [503, 503, 503]  # through to Elasticsearch (closed here)
    assert anonymous[3:] == [429, 429]
    assert int(limited.headers["retry-after"]) >= 1
    assert "too many thumbnails" in limited.json()["detail"]
    assert keyed.status_code == 503  # a key is not rate-limited


def test_token_buckets_refill_at_their_rate_and_forget_old_clients() -> None:
    now = [0.0]
    buckets = TokenBuckets(2.0, 2, clock=lambda: now[0], max_clients=2)
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0
    assert buckets.take("c") == 0.0  # "a" is forgotten: it starts full again
    assert buckets.take("a") == 0.0
