"""``/ask`` through the real API over a real Elasticsearch index: citations from distinct
documents, the extractive answer whenever the generated one cannot be trusted (in JSON and
in the stream), and no credential of the LLM's URL or key in what callers, the log or
``/health`` see. The LLMs here are deterministic stand-ins behind the ``LLM`` protocol
(what is tested is the fallback, not a model), and a real HTTP server on loopback that
plays an OpenAI-compatible upstream answering with an error body that echoes the key."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from elasticsearch import AsyncElasticsearch
from httpx_sse import aconnect_sse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from indexer.change_log import ChangeLogSettings
from indexer.encoders import Encoders, EncoderSettings
from indexer.encoders.loading import load_encoders
from indexer.events import derive_doc_id
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from mmrag.cli import app as cli
from query_api.answering import default_llm
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.settings import ApiSettings
from tests.integration.pipeline_helpers import failed_outcomes, file_upsert
from tests.unit.test_generation_openai import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUESTION = "How do I run a shell command and capture what it prints?"
SHELL_SECTIONS = [
    "Running commands",
    "Capturing output",
    "Errors and exit codes",
    "Timeouts",
]
CORPUS = {
    "shell.md": "# Running shell commands\n\n"
    + "\n\n".join(
        f"## {title}\n\n"
        + " ".join(
            f"To run a shell command and capture what it prints, call run with "
            f"capture_output set, then read stdout from the result (note {n} on {title})."
            for n in range(12)
        )
        for title in SHELL_SECTIONS
    ),
    "pipes.md": "# Pipes\n\nA pipe connects what one shell command prints to the input of "
    "the next command, so you can capture and filter output without temporary files.",
    "logging.md": "# Logging\n\nA command's output can be captured into the log: redirect "
    "what the shell prints on stdout and stderr to a file, then rotate the file daily.",
    "terminal.md": "# Terminal\n\nThe terminal shows what a running command prints; scroll "
    "back to read earlier output of the shell.",
    "garden.md": "# Tomatoes\n\nPlant tomatoes in full sun and water them at the base.",
}
LOOP = "I use the command line to run a shell command. "
KEY = "sk-live-0123456789abcdef"
URL_PASSWORD = "url-pass-9876"


@dataclass
class CannedLLM:
    """Writes ``text`` in small pieces; records the prompts it was given."""

    text: str
    prompts: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "canned"

    async def stream(self, system: str, user: str, *, max_tokens: int) -> AsyncIterator[str]:
        self.prompts.append(user)
        for start in range(0, len(self.text), 7):
            yield self.text[start : start + 7]


@dataclass
class Corpus:
    store: IndexerSettings
    encoders: Encoders
    ids: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def corpus(
    es_url: str, tiny_random_clip: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Corpus]:
    folder = tmp_path_factory.mktemp("ask-corpus")
    for name, text in CORPUS.items():
        (folder / name).write_text(text)
    name = f"ask-{uuid.uuid4().hex[:8]}"
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
    events = [file_upsert(path, "fs:ask") for path in sorted(folder.iterdir())]
    result = await pipeline.process(events)
    assert not failed_outcomes(result), failed_outcomes(result)
    await pipeline_store.close()
    ids = {path.name: derive_doc_id("fs:ask", path.as_uri()) for path in folder.iterdir()}
    yield Corpus(store, encoders, ids)
    async with AsyncElasticsearch(es_url) as es:
        created = await es.indices.get(index=f"test-{name}-*")
        if created.body:
            await es.indices.delete(index=",".join(created.body))


@pytest_asyncio.fixture(loop_scope="module")
async def api_with(corpus: Corpus) -> Any:
    """``api_with(llm_factory, generation_settings)``: a client of a real API over the
    corpus, with that LLM."""

    def make(factory: Any, generation: GenerationSettings | None = None) -> Any:
        app = create_app(
            ApiSettings(lag_timeout_s=15),
            store_settings=corpus.store,
            generation_settings=generation or GenerationSettings(provider="none"),
            change_log_settings=ChangeLogSettings(),
            encoders_factory=lambda: corpus.encoders,
            llm_factory=factory,
            static_directory=None,
        )

        class Client:
            async def __aenter__(self) -> httpx.AsyncClient:
                self._lifespan = app.router.lifespan_context(app)
                await self._lifespan.__aenter__()
                transport = httpx.ASGITransport(app=app)
                self._client = httpx.AsyncClient(transport=transport, base_url="http://api")
                return self._client

            async def __aexit__(self, *exc: object) -> None:
                await self._client.aclose()
                await self._lifespan.__aexit__(None, None, None)

        return Client()

    return make


async def ask_json(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/ask", json={"question": QUESTION, **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def ask_stream(client: httpx.AsyncClient) -> tuple[str, list[tuple[str, Any]]]:
    body = {"question": QUESTION, "stream": True}
    async with aconnect_sse(client, "POST", "/ask", json=body) as source:
        received = [event async for event in source.aiter_sse()]
    raw = "\n".join(f"event: {event.event}\ndata: {event.data}" for event in received)
    return raw, [(event.event, event.json()) for event in received]


def tokens_of(events: Sequence[tuple[str, Any]]) -> str:
    return "".join(data["text"] for kind, data in events if kind == "token")


async def test_citations_come_from_distinct_documents(corpus: Corpus, api_with: Any) -> None:
    llm = CannedLLM("Call run with capture_output and read stdout [1][2][3][4].")
    async with api_with(lambda _settings: llm) as client:
        hits = (await client.post("/search", json={"query": QUESTION, "k": 6})).json()["hits"]
        shell_hits = sum(hit["doc_id"] == corpus.ids["shell.md"] for hit in hits)
        assert shell_hits >= 3  # ungrouped, one page crowds the top six
        answer = await ask_json(client)
    assert (answer["generator"], answer["fallback_reason"]) == ("canned", None)
    cited = [citation["doc_id"] for citation in answer["citations"]]
    assert len(cited) == 4
    assert len(set(cited)) == 4  # one passage per document in the prompt
    assert corpus.ids["shell.md"] in cited
    assert "[5]" not in llm.prompts[0]  # the prompt holds prompt_passages=4 passages


async def test_a_looping_answer_is_replaced_by_the_labelled_extractive_one(
    corpus: Corpus, api_with: Any
) -> None:
    llm = CannedLLM(LOOP * 25)
    async with api_with(lambda _settings: llm) as client:
        answer = await ask_json(client)
        raw, events = await ask_stream(client)
    assert (answer["generator"], answer["fallback_reason"]) == ("extractive", "repetition")
    assert "command line" not in answer["answer"]
    assert answer["answer"].startswith("The language model's answer repeated itself;")
    cited = [citation["doc_id"] for citation in answer["citations"]]
    assert corpus.ids["shell.md"] in cited
    assert len(set(cited)) == len(cited) >= 2
    # The stream never sent a token of the discarded generation.
    assert "command line" not in raw
    assert tokens_of(events) == answer["answer"]
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["citations", "done"]
    done = events[-1][1]
    assert (done["generator"], done["fallback_reason"]) == ("extractive", "repetition")


async def test_an_uncited_answer_is_never_shown(api_with: Any) -> None:
    async with api_with(lambda _settings: CannedLLM("Use the run function to do it.")) as client:
        answer = await ask_json(client)
        raw, events = await ask_stream(client)
    assert (answer["generator"], answer["fallback_reason"]) == ("extractive", "no_citations")
    assert "run function" not in raw
    assert events[-1][1]["fallback_reason"] == "no_citations"


async def test_without_an_llm_the_extractive_answer_is_trimmed_to_the_question(
    corpus: Corpus, api_with: Any
) -> None:
    async with api_with(lambda _settings: None) as client:
        answer = await ask_json(client)
    assert (answer["generator"], answer["fallback_reason"]) == ("extractive", "no_llm")
    lines = answer["answer"].split("\n- ")[1:]
    assert len(lines) == len(answer["citations"]) == 3
    for line, citation in zip(lines, answer["citations"], strict=True):
        assert line.endswith(f"[{citation['number']}]")
        assert len(line.split()) <= 70  # trimmed, not the whole chunk
    assert "Tomatoes" not in answer["answer"]


@dataclass
class EchoingUpstream:
    """An OpenAI-compatible upstream that refuses the key and echoes it in its error."""

    base_url: str = ""
    authorizations: list[str] = field(default_factory=list)

    async def chat(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        self.authorizations.append(authorization)
        return JSONResponse(
            {"error": {"message": f"Incorrect API key provided: {authorization[7:]}"}}, 401
        )


@pytest.fixture(scope="module")
def upstream() -> Iterator[EchoingUpstream]:
    state = EchoingUpstream()
    app = Starlette(routes=[Route("/v1/chat/completions", state.chat, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="echoing-upstream", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the upstream did not start"
        time.sleep(0.02)
    state.base_url = f"http://proxy-user:{URL_PASSWORD}@127.0.0.1:{port}/v1"
    yield state
    server.should_exit = True
    thread.join(timeout=10)


async def test_credentials_never_reach_callers_logs_or_health(
    api_with: Any, upstream: EchoingUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    generation = GenerationSettings(
        provider="openai", url=upstream.base_url, model="gpt-test", api_key=KEY, max_retries=0
    )
    with caplog.at_level(logging.DEBUG):
        async with api_with(default_llm, generation) as client:
            answer = await ask_json(client)
            raw, _events = await ask_stream(client)
            health = (await client.get("/health")).text
    assert upstream.authorizations[0] == f"Bearer {KEY}"  # the upstream did get the key
    assert (answer["generator"], answer["fallback_reason"]) == ("extractive", "llm_failed")
    seen = {"response": json.dumps(answer), "stream": raw, "health": health, "log": caplog.text}
    for where, text in seen.items():
        assert KEY not in text, where
        assert URL_PASSWORD not in text, where
    assert "Incorrect API key provided: ***" in caplog.text  # the log keeps the reason


@pytest.fixture
def served_api(corpus: Corpus) -> Iterator[str]:
    """The real API (no LLM) served by uvicorn on loopback, for the command line."""
    app = create_app(
        ApiSettings(lag_timeout_s=15),
        store_settings=corpus.store,
        generation_settings=GenerationSettings(),
        change_log_settings=ChangeLogSettings(),
        encoders_factory=lambda: corpus.encoders,
        static_directory=None,
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, name="served-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


async def test_mmrag_ask_prints_the_passages_and_says_they_are_not_generated(
    served_api: str,
) -> None:
    arguments = ["ask", QUESTION, "--api", served_api]
    result = await asyncio.to_thread(CliRunner().invoke, cli, arguments, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "No language model is configured; the most relevant passages are:" in result.output
    assert "capture_output" in result.output
    assert "[1]" in result.output
    assert "extractive (retrieved passages, not generated: no_llm)" in result.output
