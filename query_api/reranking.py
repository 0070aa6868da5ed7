"""A reranking stage: a model reads the query with each of the top fused candidates and
scores them again; the candidates are reordered by that score before grouping.

    fused candidates ─ top N (``MMRAG_API_RERANK_TOP_N``) ─ Reranker.rerank(query, passages)
    ─ reranked top N, then the rest in fused order ─ group by document ─ top k

``Reranker`` is the port; ``CrossEncoderReranker`` (sentence-transformers ``CrossEncoder``,
any cross-encoder id or directory in ``MMRAG_API_RERANKER_MODEL``) is the implementation.
It is off by default: no cross-encoder weights ship in a package installable here, so a
deployment that has one (``cross-encoder/ms-marco-MiniLM-L6-v2`` from a hub, or a local
copy) turns it on by naming it. The pure parts (the passage a model reads, the reordering)
are functions below.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from query_api.fusion import FusedHit

if TYPE_CHECKING:
    from query_api.settings import ApiSettings

logger = logging.getLogger(__name__)


class Reranker(Protocol):
    """Scores passages against a query. ``rerank`` is CPU/GPU-bound and synchronous: the
    retriever runs it in its worker thread, never on the event loop. It must return one
    finite score per passage, in the passages' order; higher is more relevant. Scores
    need not be calibrated or comparable between queries."""

    @property
    def name(self) -> str: ...

    def rerank(self, query: str, passages: Sequence[str]) -> list[float]: ...


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` (query and passage read together)."""

    def __init__(
        self, model: str, *, device: str = "auto", max_length: int = 512, batch_size: int = 16
    ) -> None:
        from sentence_transformers import CrossEncoder

        from indexer.encoders.runtime import choose_device

        self._model = CrossEncoder(model, device=str(choose_device(device)), max_length=max_length)
        self._batch_size = batch_size
        self._name = model
        logger.info("loaded reranker=%s device=%s", model, self._model.device)

    @property
    def name(self) -> str:
        return self._name

    def rerank(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict(
            [(query, passage) for passage in passages],
            batch_size=self._batch_size,
            show_progress_bar=False,
        )
        return [float(score) for score in scores]


def load_reranker(settings: ApiSettings) -> Reranker | None:
    """The configured reranker, or ``None`` when ``MMRAG_API_RERANKER_MODEL`` is unset."""
    if not settings.reranker_model:
        return None
    return CrossEncoderReranker(
        settings.reranker_model,
        device=settings.reranker_device,
        max_length=settings.reranker_max_length,
        batch_size=settings.reranker_batch_size,
    )


def passage_for_reranking(source: Mapping[str, Any]) -> str:
    """What the model reads for one chunk: its document's title and heading path, then
    its text (an image chunk: its description, the text read in it, else its context)."""
    heading = " > ".join(
        str(part).strip() for part in (source.get("title"), source.get("section")) if part
    )
    parts = [str(source.get(name) or "").strip() for name in ("text", "ocr_text")]
    body = " — ".join(part for part in parts if part) or str(source.get("context") or "").strip()
    return f"{heading}\n\n{body}" if heading else body


def rerank_candidates(candidates: Sequence[FusedHit], scores: Sequence[float]) -> list[FusedHit]:
    """``candidates`` reordered by ``scores`` (best first; a tie keeps the fused order), each
    carrying its ``rerank_score``."""
    if len(scores) != len(candidates):
        raise ValueError(f"the reranker gave {len(scores)} scores for {len(candidates)} passages")
    if not all(math.isfinite(score) for score in scores):
        raise ValueError("the reranker gave a score that is not a finite number")
    order = sorted(range(len(candidates)), key=lambda index: (-scores[index], index))
    return [
        dataclasses.replace(candidates[index], rerank_score=float(scores[index])) for index in order
    ]
