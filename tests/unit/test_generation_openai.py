"""``OpenAICompatibleLLM`` against a real HTTP server on loopback (uvicorn in a thread)
that speaks the chat-completions streaming protocol, and, for pure retry counting, against
``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from query_api.generation import GenerationSettings, LLMUnavailable, Passage, generate_answer
from query_api.generation.base import DoneEvent
from query_api.generation.openai_compatible import OpenAICompatibleLLM

PIECES = ["The worker ", "uses port 9464 ", "[1]."]


def sse(payload: dict[str, Any] | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n"


def delta(content: str | None = None, role: str | None = None) -> dict[str, Any]:
    piece: dict[str, Any] = {} if role is None else {"role": role}
    if content is not None:
        piece["content"] = content
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": piece}]}


@dataclass
class FakeChatServer:
    """Behaves according to the requested model's name (the part before ``#``; the rest
    makes the name unique per test so call counts don't mix)."""

    base_url: str = ""
    requests: list[tuple[dict[str, Any], dict[str, str]]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append((body, dict(request.headers)))
        model: str = body["model"]
        self.calls[model] += 1
        behaviour, call = model.split("#")[0], self.calls[model]
        if behaviour == "unavailable-twice" and call <= 2:
            return JSONResponse({"error": {"message": "loading"}}, status_code=503)
        if behaviour == "rate-limited" and call == 1:
            return JSONResponse({"error": "slow down"}, 429, headers={"Retry-After": "0"})
        if behaviour == "always-503":
            return JSONResponse({"error": {"message": "down"}}, status_code=503)
        if behaviour == "echo-key":  # some servers quote the key they refuse
            authorization = request.headers.get("authorization", "")
            refusal = f"Incorrect API key provided: {authorization}"
            return JSONResponse({"error": {"message": refusal}}, status_code=401)
        if behaviour == "bad-request":
            return JSONResponse({"error": {"message": "unknown model"}}, status_code=400)
        if behaviour == "not-streaming":
            message = {"role": "assistant", "content": "".join(PIECES)}
            return JSONResponse({"choices": [{"index": 0, "message": message}]})
        if behaviour == "html-page":  # e.g. a proxy's sign-in page
            return Response("<html><body>Sign in</body></html>", media_type="text/html")
        if behaviour == "crlf":
            events = "".join(sse(delta(piece)).replace("\n", "\r\n") for piece in PIECES)
            return Response(events + "data: [DONE]\r\n\r\n", media_type="text/event-stream")
        if behaviour == "slow":
            await asyncio.sleep(2)
        return StreamingResponse(self._events(behaviour), media_type="text/event-stream")

    async def _events(self, behaviour: str) -> AsyncIterator[str]:
        yield ": keep-alive comment\n\n"
        yield sse(delta(role="assistant"))
        for index, piece in enumerate(PIECES):
            if behaviour == "dies-mid-stream" and index == 2:
                raise RuntimeError("the server process died")  # connection cut mid-body
            if behaviour == "error-chunk" and index == 1:
                yield sse({"error": {"message": "out of memory"}})
            yield sse(delta(piece))
            await asyncio.sleep(0.01)
        yield sse({"choices": [], "usage": {"completion_tokens": 7}})
        yield sse("[DONE]")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def chat_server() -> Iterator[FakeChatServer]:
    state = FakeChatServer()
    app = Starlette(routes=[Route("/v1/chat/completions", state.chat, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="fake-chat-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake chat server did not start")
        time.sleep(0.02)
    state.base_url = f"http://127.0.0.1:{port}/v1"
    yield state
    server.should_exit = True
    thread.join(timeout=10)


def client(server: FakeChatServer, behaviour: str, **overrides: Any) -> OpenAICompatibleLLM:
    settings = GenerationSettings(
        provider="openai",
        url=server.base_url + "/",
        model=f"{behaviour}#{uuid.uuid4().hex[:8]}",
        **overrides,
    )
    return OpenAICompatibleLLM(settings, backoff_s=0.01)


async def collect(llm: OpenAICompatibleLLM, pieces: list[str] | None = None) -> list[str]:
    received = [] if pieces is None else pieces
    try:
        async for piece in llm.stream("system text", "user text", max_tokens=32):
            received.append(piece)
    finally:
        await llm.aclose()
    return received


async def test_streams_pieces_over_sse_and_sends_a_proper_request(
    chat_server: FakeChatServer,
) -> None:
    llm = client(chat_server, "ok", api_key="sk-test", temperature=0.2)
    assert await collect(llm) == PIECES
    body, headers = chat_server.requests[-1]
    assert body["model"] == llm.name
    assert body["stream"] is True
    assert body["max_tokens"] == 32
    assert body["temperature"] == 0.2
    assert body["messages"] == [
        {"role": "system", "content": "system text"},
        {"role": "user", "content": "user text"},
    ]
    assert headers["authorization"] == "Bearer sk-test"


async def test_no_authorization_header_without_a_key(chat_server: FakeChatServer) -> None:
    await collect(client(chat_server, "ok"))
    _, headers = chat_server.requests[-1]
    assert "authorization" not in headers


async def test_retries_5xx_and_429_before_the_first_token(chat_server: FakeChatServer) -> None:
    flaky = client(chat_server, "unavailable-twice")
    assert await collect(flaky) == PIECES
    assert chat_server.calls[flaky.name] == 3
    limited = client(chat_server, "rate-limited", max_retries=1)
    assert await collect(limited) == PIECES
    assert chat_server.calls[limited.name] == 2


async def test_gives_up_after_max_retries(chat_server: FakeChatServer) -> None:
    llm = client(chat_server, "always-503", max_retries=2)
    with pytest.raises(LLMUnavailable, match=r"after 3 attempts: HTTP 503"):
        await collect(llm)
    assert chat_server.calls[llm.name] == 3


async def test_a_client_error_is_not_retried(chat_server: FakeChatServer) -> None:
    llm = client(chat_server, "bad-request")
    with pytest.raises(LLMUnavailable, match=r"400.*unknown model"):
        await collect(llm)
    assert chat_server.calls[llm.name] == 1


async def test_a_failure_after_tokens_is_raised_without_retrying(
    chat_server: FakeChatServer,
) -> None:
    llm = client(chat_server, "dies-mid-stream", max_retries=3)
    received: list[str] = []
    with pytest.raises(LLMUnavailable, match="mid-answer"):
        await collect(llm, received)
    assert received == PIECES[:2]
    assert chat_server.calls[llm.name] == 1


async def test_an_error_chunk_mid_stream_is_raised(chat_server: FakeChatServer) -> None:
    received: list[str] = []
    with pytest.raises(LLMUnavailable, match="out of memory"):
        await collect(client(chat_server, "error-chunk"), received)
    assert received == PIECES[:1]


async def test_a_server_that_ignores_stream_true_still_answers(
    chat_server: FakeChatServer,
) -> None:
    assert await collect(client(chat_server, "not-streaming")) == ["".join(PIECES)]


async def test_a_reply_neither_json_nor_sse_is_unavailable_without_retrying(
    chat_server: FakeChatServer,
) -> None:
    llm = client(chat_server, "html-page", max_retries=2)
    with pytest.raises(LLMUnavailable, match=r"neither JSON nor SSE.*text/html"):
        await collect(llm)
    assert chat_server.calls[llm.name] == 1


async def test_events_separated_by_crlf_are_read(chat_server: FakeChatServer) -> None:
    assert await collect(client(chat_server, "crlf")) == PIECES


async def test_read_timeouts_are_retried_then_reported(chat_server: FakeChatServer) -> None:
    llm = client(chat_server, "slow", timeout_s=0.3, max_retries=1)
    with pytest.raises(LLMUnavailable, match="ReadTimeout"):
        await collect(llm)
    assert chat_server.calls[llm.name] == 2


async def test_connect_errors_are_retried_then_reported() -> None:
    attempts = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ConnectError("connection refused", request=request)

    settings = GenerationSettings(provider="openai", url="http://llm.invalid/v1", model="m")
    llm = OpenAICompatibleLLM(settings, transport=httpx.MockTransport(refuse), backoff_s=0)
    with pytest.raises(LLMUnavailable, match="failed after 3 attempts: ConnectError"):
        await collect(llm)
    assert attempts == 3


async def test_nothing_listening_is_unavailable() -> None:
    settings = GenerationSettings(
        provider="openai", url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=0
    )
    with pytest.raises(LLMUnavailable, match="ConnectError"):
        await collect(OpenAICompatibleLLM(settings))


async def test_generate_answer_end_to_end_over_http(chat_server: FakeChatServer) -> None:
    llm = client(chat_server, "ok")
    passage = Passage(
        number=1,
        chunk_id="c1",
        doc_id="ops",
        uri="file:///ops.md",
        title=None,
        page=None,
        modality="text",
        text="The mmrag worker listens on port 9464 for metrics.",
    )
    settings = GenerationSettings(provider="openai", url=chat_server.base_url, model=llm.name)
    try:
        events = [event async for event in generate_answer("Port?", [passage], llm, settings)]
    finally:
        await llm.aclose()
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.answer == "The worker uses port 9464 [1]."
    assert done.generator == llm.name


async def test_an_error_body_that_echoes_the_key_is_redacted(
    chat_server: FakeChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    llm = client(chat_server, "echo-key", api_key="opaque-secret-key-1")
    with pytest.raises(LLMUnavailable) as raised:
        await collect(llm)
    assert "opaque-secret-key-1" not in str(raised.value)
    assert "Incorrect API key provided: Bearer ***" in str(raised.value)
    assert raised.value.__cause__ is None  # no unredacted original chained to it
    assert "opaque-secret-key-1" not in caplog.text


async def test_url_credentials_become_basic_auth_and_never_appear_in_errors(
    chat_server: FakeChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = chat_server.base_url.replace("http://", "http://proxy:pw-in-url-77@")
    llm = OpenAICompatibleLLM(
        GenerationSettings(provider="openai", url=url, model=f"ok#{uuid.uuid4().hex[:8]}")
    )
    assert await collect(llm) == PIECES
    _, headers = chat_server.requests[-1]
    assert headers["authorization"] == "Basic " + base64.b64encode(b"proxy:pw-in-url-77").decode()
    failing = OpenAICompatibleLLM(
        GenerationSettings(
            provider="openai", url=url, model=f"always-503#{uuid.uuid4().hex[:8]}", max_retries=1
        ),
        backoff_s=0.01,
    )
    with caplog.at_level("DEBUG"), pytest.raises(LLMUnavailable) as raised:
        await collect(failing)
    assert "pw-in-url-77" not in str(raised.value)
    assert "pw-in-url-77" not in caplog.text
    assert "llm_retry" in caplog.text
