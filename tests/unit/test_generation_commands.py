"""``mmrag generations``: what is refused before anything is asked of Elasticsearch, and
the tables it prints (pure)."""

from __future__ import annotations

from rich.console import Console
from typer.testing import CliRunner

from indexer.generations.gate import decide_promotion
from indexer.generations.meta import BuildProgress, GenerationConfig, GenerationMeta
from indexer.generations.promotion import Promotion
from indexer.generations.registry import Generation
from indexer.generations.repair import RepairTotals
from mmrag.cli import app
from mmrag.generation_report import (
    generations_json,
    generations_table,
    index_build_line,
    promotion_table,
)

CONFIG = GenerationConfig(text_model="minilm", text_dimensions=384, clip_model="clip-b")


def _text(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_promote_without_a_gate_or_force_is_refused() -> None:
    result = CliRunner().invoke(app, ["generations", "promote"])
    assert result.exit_code == 2
    assert "--eval-set" in result.output


def test_the_list_shows_state_models_progress_and_eval() -> None:
    building = GenerationMeta(
        config=CONFIG,
        state="building",
        build=BuildProgress(
            documents_total=10, documents_done=4, seconds=8.0, text_vectors_reused=4
        ),
        evaluation={"g-2": {"recall@5": 0.9, "mrr@10": 0.75}},
    )
    generations = [
        Generation("g-1", GenerationMeta(config=CONFIG, state="live"), live=True, chunks=12),
        Generation("g-2", building, live=False, chunks=5, size_bytes=2_000_000),
    ]
    text = _text(generations_table(generations))
    assert "g-1 *" in text
    assert "4/10 docs" in text
    assert "ETA 12 s" in text
    assert "recall@5 0.900" in text
    rows = generations_json(generations)
    assert [row["live"] for row in rows] == [True, False]
    assert rows[1]["build"]["documents_done"] == 4


def test_the_gate_table_shows_both_generations_and_the_verdict() -> None:
    scores = {"g-1": {"recall@5": 0.8, "mrr@10": 0.7}, "g-2": {"recall@5": 0.6, "mrr@10": 0.7}}
    decision = decide_promotion(scores["g-1"], scores["g-2"], tolerance=0.05)
    promotion = Promotion("g-2", "g-1", RepairTotals(), scores, decision, switched=False)
    text = _text(promotion_table(promotion))
    assert "recall@5 (gated)" in text
    assert "0.800" in text
    assert "0.600" in text
    assert "gate FAILED" in text


def test_the_status_line_of_a_build() -> None:
    assert index_build_line(None) is None
    line = index_build_line(
        {
            "generation": "g-2",
            "state": "building",
            "documents_done": 3,
            "documents_total": 9,
            "eta_s": 42.4,
            "vectors_reused": 0.5,
        }
    )
    assert line == "index generation g-2 building: 3/9 documents, 50% of vectors reused, ETA 42 s"
    rechunk = index_build_line(
        {
            "generation": "g-3",
            "state": "building",
            "documents_done": 3,
            "documents_total": 9,
            "eta_s": None,
            "vectors_reused": None,
        }
    )
    assert rechunk == "index generation g-3 building: 3/9 documents, re-indexed by the worker"


def test_the_list_shows_each_generations_chunker_and_own_documents_index() -> None:
    rechunked = GenerationMeta(
        config=CONFIG.model_copy(
            update={"chunk_max_tokens": 120, "chunk_overlap_tokens": 20, "chunking": "c/120"}
        ),
        documents_index="mmrag-documents-000002",
        build=BuildProgress(documents_total=9, documents_done=3),
    )
    generations = [
        Generation("g-1", GenerationMeta(config=CONFIG, state="live"), live=True),
        Generation("g-2", rechunked, live=False),
    ]
    text = _text(generations_table(generations))
    assert "3/9 docs" in text
    assert "re-indexed by the worker" in text
    assert "vectors reused" not in text
    assert "chunking not recorded" in text
    assert "chunks 120/20 overlap tokens" in text
    assert "manifests mmrag-documents-000002" in text
    rows = generations_json(generations)
    assert rows[1]["config"]["chunk_max_tokens"] == 120
    assert rows[1]["documents_index"] == "mmrag-documents-000002"
