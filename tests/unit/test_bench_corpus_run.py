"""``mmrag bench corpus``: the pure parts (percentiles, ratios, the report and its goals,
the run's names, the bare sample)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus_run.bare import evenly
from bench.corpus_run.figures import CorpusRunFigures, Freshness, percentile, ratio, report_lines
from bench.corpus_run.names import RunNames


def test_nearest_rank_percentiles() -> None:
    values = [0.9, 0.1, 0.5, 0.3, 0.7]
    assert percentile(values, 0.5) == 0.5
    assert percentile(values, 0.95) == 0.9
    assert percentile(values, 0.0) == 0.1
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match="within"):
        percentile(values, 1.5)


def test_ratios_are_none_without_a_denominator() -> None:
    assert ratio(40.0, 50.0) == 0.8
    assert ratio(None, 50.0) is None
    assert ratio(40.0, 0.0) is None


def _figures(**changes: object) -> CorpusRunFigures:
    base: dict[str, object] = {
        "corpus": "/srv/html",
        "pages": 1169,
        "documents_searchable": 1169,
        "chunks": 30000,
        "total_s": 600.0,
        "encoder": "minilm@onnx-int8",
        "bare_chunks": 600,
        "bare_s": 10.0,
        "live": Freshness((0.6, 0.7, 1.2, 1.9), 0, (0.25, 0.3, 0.3)),
        "idle": Freshness((0.5, 0.6, 0.7), 0, (0.22, 0.21)),
        "dead_letters": 2,
    }
    return CorpusRunFigures(**(base | changes))  # type: ignore[arg-type]


def test_the_report_gives_each_figure_and_says_which_goals_are_met() -> None:
    figures = _figures()
    assert figures.chunks_per_s == 50.0
    assert figures.bare_chunks_per_s == 60.0
    assert figures.pipeline_ratio == pytest.approx(50 / 60)
    lines = report_lines(figures)
    assert lines[0] == "corpus: /srv/html (1169 pages)"
    assert lines[1].endswith("30000 chunks, 2 dead letters, 0 worker restarts")
    assert "total time: 600.0 s" in lines[2]
    assert lines[3] == "pipeline: 50.0 chunks/s"
    assert "60.0 chunks/s over 600" in lines[4]
    assert lines[5] == "ratio pipeline / bare encoder: 0.83× (goal ≥ 0.8: met)"
    assert "p50 0.70 s, p95 1.90 s over 4 edits (goal p95 ≤ 2.0 s: met)" in lines[6]
    assert "p50 0.60 s over 3 edits (goal p50 ≤ 0.8 s: met)" in lines[7]
    assert lines[8].endswith("p50 0.30 s during the load, 0.21 s idle")


def test_missed_goals_and_edits_that_never_became_searchable_are_reported() -> None:
    lines = report_lines(
        _figures(
            total_s=1000.0,
            live=Freshness((0.5,), timed_out=1),
            idle=Freshness((1.0, 1.1)),
        )
    )
    assert lines[5].endswith("(goal ≥ 0.8: MISSED)")  # 30 / 60
    assert "1 never searchable in time" in lines[6]
    assert lines[6].endswith("MISSED)")  # a lost edit misses the goal whatever p95 says
    assert lines[7].endswith("(goal p50 ≤ 0.8 s: MISSED)")
    empty = report_lines(_figures(live=Freshness(), idle=Freshness()))
    assert "p50 n/a, p95 n/a over 0 edits" in empty[6]
    assert empty[6].endswith("n/a)")


def test_a_run_owns_only_names_with_its_uuid() -> None:
    names = RunNames("abc123")
    assert (names.changes_topic, names.backfill_topic, names.dead_letter_topic) == (
        "bench.abc123",
        "bench.abc123.backfill",
        "bench.abc123.dlq",
    )
    assert names.owns_topic("bench-abc123-index-changes-manifests-changelog")
    assert names.owns_topic("bench.abc123.backfill")
    assert not names.owns_topic("mmrag.changes")
    assert not names.owns_topic("bench.other")
    environment = names.environment("k:1", "http://es:2")
    assert environment["MMRAG_BACKFILL_TOPIC"] == "bench.abc123.backfill"
    assert environment["MMRAG_WORKER_APP_ID"] == "bench-abc123"
    assert environment["MMRAG_CHUNKS_ALIAS"] == "bench-abc123-chunks"
    assert names.index_pattern == "bench-abc123-*"


def test_the_bare_sample_spreads_over_the_whole_corpus() -> None:
    pages = [Path(f"p{number:03d}.html") for number in range(100)]
    picked = evenly(pages, 4)
    assert picked == [Path("p000.html"), Path("p025.html"), Path("p050.html"), Path("p075.html")]
    assert evenly(pages[:3], 10) == pages[:3]
