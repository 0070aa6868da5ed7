"""Grouping fused candidates by document."""

from __future__ import annotations

import pytest

from query_api.fusion import FusedHit, fuse_rankings
from query_api.grouping import DocumentGroup, group_by_document, order_by_document, ungrouped
from query_api.schemas import Retriever


def _hits(*chunk_ids: str) -> list[FusedHit]:
    return [FusedHit(chunk_id, 1 / (60 + rank)) for rank, chunk_id in enumerate(chunk_ids, 1)]


DOCS = {"c1": "d1", "c2": "d2", "c3": "d1", "c4": "d3", "c5": "d1", "c6": "d2"}


def test_each_document_is_its_best_chunk_in_candidate_order() -> None:
    hits = _hits("c1", "c2", "c3", "c4", "c5", "c6")
    groups = group_by_document(hits, DOCS, k=10, next_chunks=3)
    assert groups == [
        DocumentGroup(hits[0], matched_chunks=3, next_chunk_ids=("c3", "c5")),
        DocumentGroup(hits[1], matched_chunks=2, next_chunk_ids=("c6",)),
        DocumentGroup(hits[3], matched_chunks=1, next_chunk_ids=()),
    ]


def test_k_counts_documents_and_matches_count_the_whole_candidate_list() -> None:
    hits = _hits("c1", "c3", "c5", "c2", "c4", "c6")
    groups = group_by_document(hits, DOCS, k=2, next_chunks=1)
    assert [group.best.chunk_id for group in groups] == ["c1", "c2"]
    assert [group.matched_chunks for group in groups] == [3, 2]
    assert [group.next_chunk_ids for group in groups] == [("c3",), ("c6",)]
    assert group_by_document(hits, DOCS, k=1, next_chunks=0)[0].next_chunk_ids == ()


def test_a_chunk_without_a_known_document_is_its_own_group() -> None:
    groups = group_by_document(_hits("x", "c1", "y", "c3"), DOCS, k=10, next_chunks=2)
    assert [(group.best.chunk_id, group.matched_chunks) for group in groups] == [
        ("x", 1),
        ("c1", 2),
        ("y", 1),
    ]


def test_keys_may_be_tuples_so_text_and_images_of_a_document_group_apart() -> None:
    keys = {"t1": ("d1", "text"), "i1": ("d1", "image"), "t2": ("d1", "text")}
    groups = group_by_document(_hits("t1", "t2", "i1"), keys, k=10, next_chunks=3)
    assert [(g.best.chunk_id, g.matched_chunks) for g in groups] == [("t1", 2), ("i1", 1)]


def test_grouping_keeps_fused_scores_and_ranks() -> None:
    fused = fuse_rankings(
        {Retriever.BM25: ["c3", "c1", "c4"], Retriever.TEXT_KNN: ["c1", "c2", "c3"]}
    )
    groups = group_by_document(fused, DOCS, k=10, next_chunks=3)
    best = groups[0].best
    assert best.chunk_id == "c1"
    assert best.ranks == {Retriever.BM25: 2, Retriever.TEXT_KNN: 1}
    assert groups[0].next_chunk_ids == ("c3",)
    assert [g.best.score for g in groups] == sorted((g.best.score for g in groups), reverse=True)


def test_nothing_to_group() -> None:
    assert group_by_document([], DOCS, k=5, next_chunks=2) == []


@pytest.mark.parametrize(("k", "next_chunks"), [(0, 1), (3, -1)])
def test_bad_bounds_are_refused(k: int, next_chunks: int) -> None:
    with pytest.raises(ValueError, match="k must be"):
        group_by_document(_hits("c1"), DOCS, k=k, next_chunks=next_chunks)


def test_ungrouped_is_the_top_k_with_no_match_counts() -> None:
    hits = _hits("c1", "c2", "c3")
    assert ungrouped(hits, k=2) == [
        DocumentGroup(hits[0], matched_chunks=None),
        DocumentGroup(hits[1], matched_chunks=None),
    ]


def test_documents_are_ordered_by_every_retrievers_best_chunks() -> None:
    """d2's best BM25 chunk and best kNN chunk differ: chunk fusion ranks d1 first
    (its one chunk leads one ranking), document fusion credits d2 with both."""
    keys = {"a1": "d1", "b1": "d2", "b2": "d2", "c1": "d3"}
    rankings = {Retriever.BM25: ["a1", "b1", "c1"], Retriever.TEXT_KNN: ["b2", "a1", "c1"]}
    fused = fuse_rankings(rankings, k_constant=60)
    ordered = order_by_document(
        fused, rankings, keys, k_constant=1, weights={}, chunks_per_document=3
    )
    # d1: 1/2 + 1/3; d2: 1/3 + 1/2 (b1 at BM25 rank 2, b2 at kNN rank 1); d3: 1/4 + 1/4.
    scores = {keys[hit.chunk_id]: hit.score for hit in ordered}
    assert scores["d2"] == pytest.approx(1 / 2 + 1 / 3)
    assert scores["d3"] == pytest.approx(1 / 2)
    groups = group_by_document(ordered, keys, k=3, next_chunks=1)
    assert [keys[group.best.chunk_id] for group in groups][2] == "d3"
    assert {keys[group.best.chunk_id] for group in groups[:2]} == {"d1", "d2"}


def test_document_fusion_counts_at_most_n_chunks_and_honours_weights() -> None:
    keys = {f"x{i}": "many" for i in range(5)} | {"y": "one"}
    rankings = {Retriever.BM25: ["x0", "x1", "x2", "x3", "y"], Retriever.TEXT_KNN: ["y"]}
    fused = fuse_rankings(rankings, k_constant=60)

    def scores(chunks: int, weights: dict[Retriever, float]) -> dict[str, float]:
        ordered = order_by_document(
            fused, rankings, keys, k_constant=10, weights=weights, chunks_per_document=chunks
        )
        return {keys[hit.chunk_id]: hit.score for hit in ordered}

    one = scores(1, {})
    assert one["many"] == pytest.approx(1 / 11)
    assert one["one"] == pytest.approx(1 / 15 + 1 / 11)
    two = scores(2, {})
    assert two["many"] == pytest.approx(1 / 11 + 1 / 12)
    assert scores(1, {Retriever.TEXT_KNN: 0})["one"] == pytest.approx(1 / 15)
    ordered = order_by_document(
        fused, rankings, keys, k_constant=10, weights={}, chunks_per_document=1
    )
    assert keys[ordered[0].chunk_id] == "one"
    assert [hit.chunk_id for hit in ordered if keys[hit.chunk_id] == "many"] == [
        "x0",
        "x1",
        "x2",
        "x3",
    ]


def test_document_fusion_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="≥ 1"):
        order_by_document([], {}, {}, k_constant=10, weights={}, chunks_per_document=0)
