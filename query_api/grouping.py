"""Results grouped by document (pure): one hit per document, its best chunk.

    fused candidates (best first)  c1:d1  c2:d2  c3:d1  c4:d3  c5:d1
    grouped, k = 2                 d1 → c1 (matched 3, next c3, c5)   d2 → c2 (matched 1)

A group's place is its best chunk's place in the candidate list, so groups keep the
candidates' order (fused, or reranked). ``matched_chunks`` counts the group's chunks
anywhere in the candidate list, not only above the cut.

The retriever groups by ``(doc_id, modality)``: a document's best text passage and its best
image are separate hits, so a PDF's figure is not hidden behind the text of its page (the
web page shows images in their own grid). For text-only corpora that is one hit per document.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

from query_api.fusion import FusedHit
from query_api.schemas import Retriever


@dataclass(frozen=True)
class DocumentGroup:
    best: FusedHit
    matched_chunks: int | None
    """How many of the document's chunks are among the candidates (≥ 1); ``None`` when
    results are not grouped."""
    next_chunk_ids: tuple[str, ...] = ()
    """The document's next best chunks after ``best``, best first."""


def group_by_document(
    candidates: Sequence[FusedHit],
    group_keys: Mapping[str, Hashable],
    *,
    k: int,
    next_chunks: int,
) -> list[DocumentGroup]:
    """The ``k`` best groups (documents) among ``candidates`` (best first), each with its
    best chunk, how many of its chunks matched and up to ``next_chunks`` of the others' ids.
    ``group_keys`` maps a chunk id to its group; a chunk without one is a group of its own."""
    if k < 1 or next_chunks < 0:
        raise ValueError(f"k must be ≥ 1 and next_chunks ≥ 0, not {k} and {next_chunks}")
    members: dict[Hashable, list[FusedHit]] = {}
    for hit in candidates:
        members.setdefault(group_keys.get(hit.chunk_id, hit.chunk_id), []).append(hit)
    return [
        DocumentGroup(
            best=hits[0],
            matched_chunks=len(hits),
            next_chunk_ids=tuple(hit.chunk_id for hit in hits[1 : 1 + next_chunks]),
        )
        for hits in list(members.values())[:k]
    ]


def ungrouped(candidates: Sequence[FusedHit], *, k: int) -> list[DocumentGroup]:
    """The top ``k`` candidates as they are (no grouping asked for)."""
    return [DocumentGroup(best=hit, matched_chunks=None) for hit in candidates[:k]]


def order_by_document(
    candidates: Sequence[FusedHit],
    rankings: Mapping[Retriever, Sequence[str]],
    group_keys: Mapping[str, Hashable],
    *,
    k_constant: int,
    weights: Mapping[Retriever, float],
    chunks_per_document: int,
) -> list[FusedHit]:
    """The candidates reordered by their document's fused score (document-level RRF).

        score(doc) = Σ_r  w_r · Σ_{the doc's first n chunks in r}  1 / (k + rank_r(chunk))

    Fusing chunks and then grouping ranks a document by one chunk only: a page whose best
    BM25 passage and best kNN passage are different chunks gets no credit for both. Here
    each retriever's ranking speaks for the document through its ``chunks_per_document``
    best chunks, so agreement between retrievers (and several matching passages) lifts
    the document. Within a document the chunks keep their fused order; each chunk's
    ``score`` becomes its document's. Measured on the PostgreSQL manual's tuning questions
    (docs/evaluation.md) with n = 3, k = 10 and kNN weighted 2: MRR@10 0.68 against 0.61
    for chunk fusion then grouping.
    """
    if chunks_per_document < 1 or k_constant < 1:
        raise ValueError("chunks_per_document and k_constant must be ≥ 1")
    contributions: dict[Hashable, list[float]] = {}
    for retriever, ranking in rankings.items():
        weight = weights.get(retriever, 1.0)
        if weight <= 0:
            continue
        counted: dict[Hashable, int] = {}
        for rank, chunk_id in enumerate(dict.fromkeys(ranking), start=1):
            key = group_keys.get(chunk_id, chunk_id)
            counted[key] = counted.get(key, 0) + 1
            if counted[key] <= chunks_per_document:
                contributions.setdefault(key, []).append(weight / (k_constant + rank))
    scores = {key: math.fsum(parts) for key, parts in contributions.items()}
    position = {hit.chunk_id: index for index, hit in enumerate(candidates)}

    def key_of(hit: FusedHit) -> Hashable:
        return group_keys.get(hit.chunk_id, hit.chunk_id)

    ordered = sorted(
        candidates, key=lambda hit: (-scores.get(key_of(hit), 0.0), position[hit.chunk_id])
    )
    return [replace(hit, score=scores.get(key_of(hit), 0.0)) for hit in ordered]
