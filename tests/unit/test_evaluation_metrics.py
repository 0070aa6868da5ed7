"""The metric wiring: known document rankings give known recall, MRR and nDCG."""

from __future__ import annotations

import math

import pytest

from mmrag.evaluation.labelled_set import LabelledQuestion
from mmrag.evaluation.metrics import mean_scores, metric_names, recall_cutoffs, score_questions
from mmrag.evaluation.ranking import labelled_ranking
from mmrag.evaluation.results import Answered, score_run
from mmrag.evaluation.runs import RunSpec

DOCS = [f"file:///site/page-{n}.html" for n in range(1, 13)]


def _score(documents: list[str], expected: list[str], k: int = 10) -> dict[str, float]:
    rankings = {"q": labelled_ranking(documents, expected)}
    return score_questions(rankings, {"q": expected}, k)["q"]


def test_metric_names_follow_the_cutoff() -> None:
    assert metric_names(10) == ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"]
    assert metric_names(3) == ["recall@1", "recall@3", "mrr@3", "ndcg@3"]
    assert recall_cutoffs(1) == [1]
    with pytest.raises(ValueError, match="at least 1"):
        recall_cutoffs(0)


def test_expected_page_first() -> None:
    scores = _score(DOCS, ["page-1.html"])
    assert scores == {
        "recall@1": 1.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "mrr@10": 1.0,
        "ndcg@10": 1.0,
        "fraction@10": 1.0,
    }


def test_expected_page_third() -> None:
    scores = _score(DOCS, ["page-3.html"])
    assert scores["recall@1"] == 0.0
    assert scores["recall@5"] == 1.0
    assert scores["mrr@10"] == pytest.approx(1 / 3)
    assert scores["ndcg@10"] == pytest.approx(1 / math.log2(4))


def test_expected_page_at_rank_seven_counts_for_recall_at_ten_only() -> None:
    scores = _score(DOCS, ["page-7.html"])
    assert (scores["recall@1"], scores["recall@5"], scores["recall@10"]) == (0.0, 0.0, 1.0)
    assert scores["mrr@10"] == pytest.approx(1 / 7)


def test_a_page_below_the_cutoff_is_a_miss() -> None:
    scores = _score(DOCS, ["page-11.html"])
    assert all(value == 0.0 for value in scores.values()), scores


def test_no_hits_at_all_is_a_miss() -> None:
    assert all(value == 0.0 for value in _score([], ["page-1.html"]).values())


def test_several_expected_pages_recall_is_any_hit_and_fraction_is_the_share() -> None:
    scores = _score(DOCS, ["page-2.html", "page-4.html", "missing.html"])
    assert scores["recall@1"] == 0.0
    assert scores["recall@5"] == 1.0
    assert scores["mrr@10"] == pytest.approx(0.5)
    assert scores["fraction@10"] == pytest.approx(2 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert scores["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)


def test_chunks_of_one_document_collapse_to_one_rank() -> None:
    question = LabelledQuestion(id="q", question="x", expected=("page-3.html",), split="held")
    hits_as_documents = ("file:///site/page-1.html", "file:///site/page-3.html")
    result = score_run(
        RunSpec("hybrid", "hybrid", "hybrid", None),
        [question],
        {"q": Answered(documents=hits_as_documents, latency_ms=5.0)},
        k=10,
    )
    assert result.questions[0].ranks == {"page-3.html": 2}
    assert result.metrics["mrr@10"] == pytest.approx(0.5)


def test_two_documents_matching_one_entry_count_once_and_keep_their_ranks() -> None:
    documents = ["file:///a/index.html", "file:///b/x.html", "file:///b/index.html"]
    assert labelled_ranking(documents, ["index.html"]) == [
        "expected:index.html",
        "document:file:///b/x.html",
        "document:file:///b/index.html",
    ]
    assert _score(documents, ["index.html"])["ndcg@10"] == 1.0


def test_mean_over_questions() -> None:
    rankings = {
        "hit": labelled_ranking(DOCS, ["page-1.html"]),
        "second": labelled_ranking(DOCS, ["page-2.html"]),
        "miss": labelled_ranking(DOCS, ["nowhere.html"]),
        "empty": labelled_ranking([], ["page-1.html"]),
    }
    expected = {
        "hit": ["page-1.html"],
        "second": ["page-2.html"],
        "miss": ["nowhere.html"],
        "empty": ["page-1.html"],
    }
    means = mean_scores(score_questions(rankings, expected, 10))
    assert means["recall@1"] == pytest.approx(0.25)
    assert means["recall@5"] == pytest.approx(0.5)
    assert means["mrr@10"] == pytest.approx(1.5 / 4)
    assert mean_scores({}) == {}


def test_rankings_and_expected_must_cover_the_same_questions() -> None:
    with pytest.raises(ValueError, match="same questions"):
        score_questions({"a": []}, {"b": ["x"]}, 10)
