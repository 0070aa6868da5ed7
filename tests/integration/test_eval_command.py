"""``mmrag eval`` end to end: the real CLI against a real query API (uvicorn on a free
port) over a tiny index written by the real pipeline into the real Elasticsearch.

The text model is the real MiniLM; CLIP is off (text questions only).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from elasticsearch import AsyncElasticsearch
from typer.testing import CliRunner

from indexer.change_log import ChangeLogSettings
from indexer.encoders import Encoders, EncoderSettings
from indexer.encoders.loading import load_encoders
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from mmrag.cli import app
from mmrag.evaluation.client import ApiRejected, EvaluationClient
from mmrag.evaluation.runs import rejected_fields
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.schemas import SearchRequest
from query_api.settings import ApiSettings
from tests.integration.pipeline_helpers import failed_outcomes, file_upsert

CORPUS = {
    "sourdough.md": "# Sourdough bread\n\nFeed the sourdough starter with equal weights of flour "
    "and water every day and keep it at room temperature. A lively starter doubles within "
    "six hours. Bake the proofed boule in a preheated Dutch oven.",
    "kafka.md": "# Kafka consumer groups\n\nEvery partition of a topic is read by exactly one "
    "member of a consumer group. When a member joins or leaves, the group coordinator "
    "rebalances and reassigns partitions. Consumers commit offsets.",
    "tomatoes.md": "# Growing tomatoes\n\nStart seedlings indoors six weeks before the last "
    "frost. Early blight shows as brown rings on the lower leaves: remove them and mulch "
    "the soil so spores do not splash up.",
    "espresso.md": "# Espresso brewing\n\nUse eighteen grams of finely ground coffee and extract "
    "about thirty-six grams in 25 to 30 seconds. A shot that runs too fast tastes sour.",
}
QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "starter",
        "question": "how do I feed a sourdough starter with flour and water",
        "expected": ["sourdough.md"],
        "split": "tune",
    },
    {
        "id": "absent",
        "question": "how do volcanoes erupt",
        "expected": ["volcanoes.md"],
        "split": "tune",
        "notes": "its page is not indexed: a miss in every run",
    },
    {
        "id": "rebalance",
        "question": "partitions reassigned when a consumer joins the group",
        "expected": ["kafka.md"],
        "split": "held",
    },
    {
        "id": "blight",
        "question": "brown rings on tomato leaves",
        "expected": ["tomatoes.md", "volcanoes.md"],
        "split": "held",
    },
    {
        "id": "filtered",
        "question": "how do I feed a sourdough starter with flour and water",
        "expected": ["sourdough.md"],
        "split": "held",
        "filters": {"tags": ["no-such-tag"]},
    },
]
RUNS = ["hybrid", "lexical", "vector", "baseline-bm25", "baseline-knn", "baseline-rrf"]
API_HAS_PROFILES = "profile" in SearchRequest.model_fields
API_GROUPS = "group_by" in SearchRequest.model_fields


async def _index(store: IndexerSettings, encoders: Encoders, paths: list[Path]) -> None:
    writer = ElasticsearchStore(store)
    pipeline = IndexingPipeline(store, writer, encoders, ContentReader(store))
    await pipeline.setup()
    events = [file_upsert(path, "fs:eval") for path in paths]
    result = await pipeline.process(events)
    assert not failed_outcomes(result), failed_outcomes(result)
    await writer.close()
    async with AsyncElasticsearch(store.elasticsearch_url) as es:
        await es.indices.refresh(index=store.chunks_alias)


async def _delete_indexes(es_url: str, pattern: str) -> None:
    async with AsyncElasticsearch(es_url) as es:
        created = await es.indices.get(index=pattern)
        if created.body:
            await es.indices.delete(index=",".join(created.body))


@pytest.fixture(scope="module")
def api_url(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("eval-corpus")
    for name, text in CORPUS.items():
        (folder / name).write_text(text)
    name = f"test-eval-{folder.name.lower().replace('_', '-')}"
    store = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"{name}-chunks",
        documents_index=f"{name}-documents",
        allowed_roots=(folder,),
    )
    encoders = load_encoders(EncoderSettings(clip_model=""))
    asyncio.run(_index(store, encoders, sorted(folder.iterdir())))
    api = create_app(
        ApiSettings(),
        store_settings=store,
        generation_settings=GenerationSettings(),
        change_log_settings=ChangeLogSettings(),
        encoders_factory=lambda: encoders,
        llm_factory=lambda _settings: None,  # answers are extractive
        static_directory=None,
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(api, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive(), "the API stopped while starting"
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
        asyncio.run(_delete_indexes(es_url, f"{name}-*"))


@pytest.fixture(scope="module")
def labelled_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eval-set") / "questions.jsonl"
    path.write_text("".join(json.dumps(question) + "\n" for question in QUESTIONS))
    return path


def _eval(*arguments: str) -> Any:
    return CliRunner().invoke(app, ["eval", *arguments], env={"COLUMNS": "160"})


def test_json_report_has_every_mode_and_the_baselines(api_url: str, labelled_set: Path) -> None:
    result = _eval(str(labelled_set), "--api", api_url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["questions"] == len(QUESTIONS)
    assert report["k"] == 10
    assert report["group_by"] is API_GROUPS
    assert list(report["runs"]) == RUNS
    assert report["elapsed_s"] > 0
    available = RUNS if API_HAS_PROFILES else RUNS[:3]
    for name in RUNS:
        run = report["runs"][name]
        if name not in available:
            assert run["available"] is False
            assert "profile" in run["unavailable_reason"]
            continue
        assert run["available"] is True, run["unavailable_reason"]
        metrics = run["metrics"]
        assert all(0.0 <= value <= 1.0 for value in metrics.values()), (name, metrics)
        assert metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@10"]
        ranks = {question["id"]: question["ranks"] for question in run["questions"]}
        # The only page of these questions is indexed: found in the top 10 by every run.
        assert ranks["starter"]["sourdough.md"] is not None, (name, ranks)
        assert ranks["rebalance"]["kafka.md"] is not None, (name, ranks)
        assert ranks["blight"]["tomatoes.md"] is not None, (name, ranks)
        # Never indexed, or filtered out by the question's filters: a miss.
        assert ranks["absent"] == {"volcanoes.md": None}
        assert ranks["blight"]["volcanoes.md"] is None
        assert ranks["filtered"] == {"sourdough.md": None}
        assert run["questions"][4]["documents"] == []
        # Three of the five questions can be answered, and at best all three are.
        assert metrics["recall@10"] == pytest.approx(3 / 5), (name, metrics)
        assert metrics["fraction@10"] == pytest.approx(2.5 / 5), (name, metrics)
        for question in run["questions"]:
            assert len(question["documents"]) == len(set(question["documents"])) <= 10
        assert run["latency_ms"]["mean"] > 0
    for name in ("hybrid", "lexical") + (("baseline-bm25",) if API_HAS_PROFILES else ()):
        starter = report["runs"][name]["questions"][0]
        assert starter["ranks"] == {"sourdough.md": 1}, (name, starter)
        assert starter["scores"]["mrr@10"] == 1.0


def test_table_for_one_split_and_modes(api_url: str, labelled_set: Path) -> None:
    result = _eval(
        str(labelled_set),
        "--api",
        api_url,
        "--split",
        "held",
        "--modes",
        "lexical",
        "--no-baselines",
        "--k",
        "5",
    )
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert "questions.jsonl: split held, 3 questions, k=5" in table
    for column in ("recall@1", "recall@5", "mrr@5", "ndcg@5", "questions", "mean ms"):
        assert column in table
    assert "recall@10" not in table
    assert "lexical" in table
    assert "hybrid" not in table
    assert "baseline" not in table
    assert "0.667" in table  # recall@5: two of the three held questions


def test_ask_reports_citations_and_the_extractive_share(api_url: str, labelled_set: Path) -> None:
    arguments = ["--split", "tune", "--modes", "hybrid", "--no-baselines", "--ask", "--json"]
    result = _eval(str(labelled_set), "--api", api_url, *arguments)
    assert result.exit_code == 0, result.output
    ask = json.loads(result.stdout)["ask"]
    answers = {answer["id"]: answer for answer in ask["answers"]}
    assert answers["starter"]["cites_expected"] is True
    assert any(uri.endswith("/sourdough.md") for uri in answers["starter"]["cited"])
    assert answers["absent"]["cites_expected"] is False
    assert ask["share_citing_expected"] == pytest.approx(0.5)
    assert ask["share_extractive"] == 1.0  # no LLM is configured
    assert ask["latency_ms"]["p95"] >= ask["latency_ms"]["mean"] > 0


def test_errors_exit_non_zero_with_a_clear_message(api_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(QUESTIONS[0]) + "\n")
    unreachable = socket.socket()
    unreachable.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        port = unreachable.getsockname()[1]
        result = _eval(str(good), "--api", f"http://127.0.0.1:{port}")
    finally:
        unreachable.close()
    assert result.exit_code == 1
    assert "cannot reach the API" in result.stderr

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(QUESTIONS[0]) + "\n" + '{"id": "x", "question": "q"}\n')
    result = _eval(str(bad), "--api", api_url)
    assert result.exit_code == 2
    assert "line 2: expected: Field required" in result.stderr

    empty_split = _eval(str(good), "--api", api_url, "--split", "held")
    assert empty_split.exit_code == 2
    assert "no questions in the split 'held'" in empty_split.stderr


def test_an_unknown_field_is_recognised_in_the_apis_422(api_url: str) -> None:
    """How an older API refuses ``profile``/``group_by``, which eval falls back from."""
    with EvaluationClient(api_url) as client, pytest.raises(ApiRejected) as caught:
        client.search({"query": "sourdough", "ranking_trick": "x"})
    assert caught.value.status == 422
    assert rejected_fields(caught.value.errors) == {"ranking_trick"}
