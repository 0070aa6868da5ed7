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

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from query_api.fusion import FusedHit


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
