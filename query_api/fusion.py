"""Reciprocal Rank Fusion (pure): several rankings of chunk ids into one.

    score(d) = Σ_r  w_r / (k + rank_r(d))        rank 1-based, over rankings r that hold d

RRF needs no score calibration between BM25 and cosine similarity, which is why hybrid
search uses it (Cormack, Clarke & Büttcher, SIGIR 2009). The minimal Elasticsearch
distribution has no ``rrf`` retriever, and fusing here keeps the weights ours.

Determinism: scores are summed with ``math.fsum`` (exactly rounded, so independent of the
order rankings are given in); ties go to the better best rank, then to the chunk id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from query_api.schemas import Retriever

DEFAULT_K_CONSTANT = 60


@dataclass(frozen=True)
class FusedHit:
    chunk_id: str
    score: float
    ranks: dict[Retriever, int] = field(default_factory=dict)
    """1-based rank of the chunk in each ranking that holds it."""
    rerank_score: float | None = None
    """The reranker's score, when a reranking stage read this candidate."""


def fuse_rankings(
    rankings: Mapping[Retriever, Sequence[str]],
    k_constant: int = DEFAULT_K_CONSTANT,
    weights: Mapping[Retriever, float] | None = None,
) -> list[FusedHit]:
    """Fuse rankings (best first) into one list, best first.

    A retriever missing from ``weights`` weighs 1; a weight of 0 leaves its ranking out
    entirely (its hits get no rank either). A chunk id repeated within one ranking counts
    at its first (best) position only.
    """
    if k_constant < 1:
        raise ValueError(f"k_constant must be ≥ 1, not {k_constant}")
    weights = weights or {}
    contributions: dict[str, list[float]] = {}
    ranks: dict[str, dict[Retriever, int]] = {}
    for retriever, ranking in rankings.items():
        weight = weights.get(retriever, 1.0)
        if weight < 0 or math.isnan(weight):
            raise ValueError(f"weight of {retriever} must be ≥ 0, not {weight}")
        if weight == 0:
            continue
        for rank, chunk_id in enumerate(dict.fromkeys(ranking), start=1):
            contributions.setdefault(chunk_id, []).append(weight / (k_constant + rank))
            ranks.setdefault(chunk_id, {})[retriever] = rank
    fused = [
        FusedHit(chunk_id, math.fsum(parts), ranks[chunk_id])
        for chunk_id, parts in contributions.items()
    ]
    fused.sort(key=lambda hit: (-hit.score, min(hit.ranks.values()), hit.chunk_id))
    return fused
