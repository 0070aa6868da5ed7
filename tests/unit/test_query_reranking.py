"""The reranking stage's pure parts, and the stage in the pipeline's order with a tiny
deterministic reranker (a fake is fine here: this is pipeline logic, not quality)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from query_api.fusion import FusedHit, fuse_rankings
from query_api.grouping import group_by_document
from query_api.reranking import Reranker, load_reranker, passage_for_reranking, rerank_candidates
from query_api.schemas import Retriever
from query_api.settings import ApiSettings


class WordCountReranker:
    """Scores a passage by how often it says ``word``."""

    name = "word-count"

    def __init__(self, word: str) -> None:
        self.word = word

    def rerank(self, query: str, passages: Sequence[str]) -> list[float]:
        return [float(passage.lower().split().count(self.word)) for passage in passages]


def _hits(*chunk_ids: str) -> list[FusedHit]:
    return [FusedHit(chunk_id, 1 / (60 + rank)) for rank, chunk_id in enumerate(chunk_ids, 1)]


def test_candidates_follow_the_scores_and_keep_them() -> None:
    hits = _hits("a", "b", "c")
    reranked = rerank_candidates(hits, [0.1, 2.5, -1.0])
    assert [hit.chunk_id for hit in reranked] == ["b", "a", "c"]
    assert [hit.rerank_score for hit in reranked] == [2.5, 0.1, -1.0]
    assert reranked[0].score == hits[1].score  # the fused score stays
    assert all(hit.rerank_score is None for hit in hits)  # the input is not changed


def test_ties_keep_the_fused_order() -> None:
    assert [hit.chunk_id for hit in rerank_candidates(_hits("a", "b", "c"), [1, 1, 2])] == [
        "c",
        "a",
        "b",
    ]


def test_a_broken_reranker_is_an_error_not_a_silent_reorder() -> None:
    with pytest.raises(ValueError, match="2 scores for 3 passages"):
        rerank_candidates(_hits("a", "b", "c"), [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        rerank_candidates(_hits("a", "b"), [1.0, math.nan])


def test_passages_carry_title_and_heading_path() -> None:
    assert (
        passage_for_reranking(
            {"title": "Backups", "section": "Dump > Restore", "text": "Use pg_restore."}
        )
        == "Backups > Dump > Restore\n\nUse pg_restore."
    )
    assert passage_for_reranking({"text": "Just text."}) == "Just text."
    image = {"modality": "image", "text": "A chart", "ocr_text": "Q3 sales", "context": "x"}
    assert passage_for_reranking(image) == "A chart — Q3 sales"
    assert passage_for_reranking({"text": "", "context": "words around"}) == "words around"


def test_no_reranker_unless_a_model_is_named() -> None:
    assert load_reranker(ApiSettings()) is None


def test_reranking_comes_before_grouping_so_a_documents_hit_is_its_reranked_best() -> None:
    reranker: Reranker = WordCountReranker("fog")
    fused = fuse_rankings({Retriever.BM25: ["lamp", "lens", "fog", "note"]})
    passages = {
        "lamp": "trim the lamp",
        "lens": "polish the lens",
        "fog": "sound the fog horn in fog",
        "note": "a note about fog",
    }
    top, rest = fused[:3], fused[3:]
    scores = reranker.rerank("q", [passages[hit.chunk_id] for hit in top])
    reranked = rerank_candidates(top, scores) + rest
    assert [hit.chunk_id for hit in reranked] == ["fog", "lamp", "lens", "note"]
    assert reranked[-1].rerank_score is None  # beyond the top N: fused order, no score
    documents = {"lamp": "manual", "lens": "manual", "fog": "manual", "note": "note"}
    groups = group_by_document(reranked, documents, k=2, next_chunks=2)
    assert [(g.best.chunk_id, g.matched_chunks, g.next_chunk_ids) for g in groups] == [
        ("fog", 3, ("lamp", "lens")),
        ("note", 1, ()),
    ]
