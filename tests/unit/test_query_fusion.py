"""Reciprocal Rank Fusion."""

from __future__ import annotations

import itertools
import math

import pytest

from query_api.fusion import FusedHit, fuse_rankings
from query_api.schemas import Retriever

BM25, TEXT, CLIP = Retriever.BM25, Retriever.TEXT_KNN, Retriever.CLIP_KNN


def test_single_ranking_keeps_its_order_with_rrf_scores() -> None:
    fused = fuse_rankings({BM25: ["a", "b", "c"]})
    assert [hit.chunk_id for hit in fused] == ["a", "b", "c"]
    assert [hit.score for hit in fused] == pytest.approx([1 / 61, 1 / 62, 1 / 63])
    assert fused[0] == FusedHit("a", 1 / 61, {BM25: 1})


def test_agreement_beats_a_single_first_place() -> None:
    fused = fuse_rankings({BM25: ["a", "b"], TEXT: ["c", "b"]})
    assert fused[0].chunk_id == "b"
    assert fused[0].ranks == {BM25: 2, TEXT: 2}
    assert fused[0].score == pytest.approx(2 / 62)


def test_scores_are_sums_of_weighted_reciprocal_ranks() -> None:
    fused = fuse_rankings(
        {BM25: ["x", "y"], TEXT: ["y", "x"], CLIP: ["z"]},
        k_constant=10,
        weights={BM25: 2.0, TEXT: 1.0, CLIP: 0.5},
    )
    scores = {hit.chunk_id: hit.score for hit in fused}
    assert scores["x"] == pytest.approx(2 / 11 + 1 / 12)
    assert scores["y"] == pytest.approx(2 / 12 + 1 / 11)
    assert scores["z"] == pytest.approx(0.5 / 11)
    assert [hit.chunk_id for hit in fused] == ["x", "y", "z"]


def test_k_constant_changes_how_much_the_top_rank_matters() -> None:
    rankings = {BM25: ["a", "b", "c"], TEXT: ["b", "c", "a"], CLIP: ["c", "a", "b"]}
    # Symmetric: every id has ranks {1, 2, 3}: a full tie, decided by best rank, then id.
    assert [hit.chunk_id for hit in fuse_rankings(rankings, k_constant=1)] == ["a", "b", "c"]
    # x is first in one ranking; y is fourth in two. A small constant rewards the first
    # place (1/2 > 2/5); the usual 60 rewards agreement (1/61 < 2/64).
    lopsided = {BM25: ["x", "a", "b", "y"], TEXT: ["c", "d", "e", "y"]}

    def order(k_constant: int) -> list[str]:
        ids = [hit.chunk_id for hit in fuse_rankings(lopsided, k_constant=k_constant)]
        return [chunk_id for chunk_id in ids if chunk_id in ("x", "y")]

    assert order(1) == ["x", "y"]
    assert order(60) == ["y", "x"]


def test_ties_are_broken_by_best_rank_then_chunk_id() -> None:
    fused = fuse_rankings({BM25: ["b", "a"], TEXT: ["a", "b"]})
    assert fused[0].score == fused[1].score
    assert [hit.chunk_id for hit in fused] == ["a", "b"]
    fused = fuse_rankings({BM25: ["q"], TEXT: ["p"]})
    assert [hit.chunk_id for hit in fused] == ["p", "q"]


def test_order_of_rankings_does_not_change_the_result() -> None:
    rankings = {
        BM25: ["a", "b", "c", "d"],
        TEXT: ["d", "c", "e"],
        CLIP: ["e", "a", "f"],
        Retriever.IMAGE_TEXT_KNN: ["f", "b", "a"],
    }
    expected = fuse_rankings(rankings)
    for order in itertools.permutations(rankings):
        assert fuse_rankings({name: rankings[name] for name in order}) == expected


def test_duplicates_within_a_ranking_count_once_at_their_best_position() -> None:
    fused = fuse_rankings({BM25: ["a", "b", "a"]})
    assert [hit.chunk_id for hit in fused] == ["a", "b"]
    assert fused[0].ranks == {BM25: 1}
    assert fused[1].ranks == {BM25: 2}


def test_zero_weight_leaves_a_ranking_out() -> None:
    fused = fuse_rankings({BM25: ["a"], TEXT: ["b", "a"]}, weights={BM25: 0})
    assert [hit.chunk_id for hit in fused] == ["b", "a"]
    assert fused[1].ranks == {TEXT: 2}


def test_missing_weight_is_one() -> None:
    assert fuse_rankings({BM25: ["a"]}, weights={TEXT: 3})[0].score == pytest.approx(1 / 61)


def test_empty_rankings_fuse_to_nothing() -> None:
    assert fuse_rankings({}) == []
    assert fuse_rankings({BM25: [], TEXT: []}) == []


@pytest.mark.parametrize("k_constant", [0, -1])
def test_k_constant_must_be_positive(k_constant: int) -> None:
    with pytest.raises(ValueError, match="k_constant"):
        fuse_rankings({BM25: ["a"]}, k_constant=k_constant)


@pytest.mark.parametrize("weight", [-0.5, math.nan])
def test_weights_must_not_be_negative(weight: float) -> None:
    with pytest.raises(ValueError, match="weight"):
        fuse_rankings({BM25: ["a"]}, weights={BM25: weight})


def test_scores_never_increase_down_the_list() -> None:
    rankings = {
        BM25: [f"d{i}" for i in range(0, 40, 2)],
        TEXT: [f"d{i}" for i in range(0, 40, 3)],
        CLIP: [f"d{i}" for i in range(39, 0, -5)],
    }
    fused = fuse_rankings(rankings)
    assert all(a.score >= b.score for a, b in itertools.pairwise(fused))
    assert len({hit.chunk_id for hit in fused}) == len(fused)
