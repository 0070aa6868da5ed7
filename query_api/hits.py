"""From stored chunk sources and fused ranks to what the API returns (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from query_api.fusion import FusedHit
from query_api.schemas import Hit, Retriever


@dataclass(frozen=True)
class RetrievedChunk:
    """One fused hit with the chunk's stored fields (full text, for answer generation)."""

    chunk_id: str
    doc_id: str
    modality: Literal["text", "image"]
    uri: str
    source: str
    text: str
    score: float
    ranks: dict[Retriever, int] = field(default_factory=dict)
    title: str | None = None
    page: int | None = None
    bbox: list[float] | None = None
    section: str | None = None
    context: str | None = None
    ocr_text: str | None = None
    matched_chunks: int | None = None
    """Grouped by document: how many of the document's chunks were candidates."""
    rerank_score: float | None = None
    next_chunk_ids: tuple[str, ...] = ()

    @property
    def describing_text(self) -> str:
        """Text chunks: the text. Image chunks: the description and the text read in the
        image (OCR); with neither, the nearby words."""
        if self.modality == "text":
            return self.text.strip()
        described = " — ".join(
            part for part in (self.text.strip(), (self.ocr_text or "").strip()) if part
        )
        return described or (self.context or "").strip()

    @property
    def image_url(self) -> str | None:
        return image_url(self.chunk_id) if self.modality == "image" else None


def image_url(chunk_id: str) -> str:
    return f"/images/{chunk_id}"


def chunk_from_source(
    source: Mapping[str, Any],
    fused: FusedHit,
    *,
    matched_chunks: int | None = None,
    next_chunk_ids: tuple[str, ...] = (),
) -> RetrievedChunk:
    modality: Literal["text", "image"] = "image" if source.get("modality") == "image" else "text"
    bbox = source.get("bbox")
    return RetrievedChunk(
        chunk_id=fused.chunk_id,
        doc_id=str(source.get("doc_id", "")),
        modality=modality,
        uri=str(source.get("uri", "")),
        source=str(source.get("source", "")),
        text=str(source.get("text") or ""),
        score=fused.score,
        ranks=dict(fused.ranks),
        rerank_score=fused.rerank_score,
        title=source.get("title"),
        page=source.get("page"),
        bbox=[float(value) for value in bbox] if isinstance(bbox, list) else None,
        section=source.get("section"),
        context=source.get("context"),
        ocr_text=source.get("ocr_text"),
        matched_chunks=matched_chunks,
        next_chunk_ids=next_chunk_ids,
    )


def snippet(text: str, length: int) -> str | None:
    """``text`` with whitespace collapsed, cut at a word boundary to about ``length``."""
    flat = " ".join(text.split())
    if not flat:
        return None
    if len(flat) <= length:
        return flat
    cut = flat[:length]
    space = cut.rfind(" ")
    if space >= length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def to_hit(chunk: RetrievedChunk, *, snippet_length: int) -> Hit:
    return Hit(
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        modality=chunk.modality,
        uri=chunk.uri,
        title=chunk.title,
        source=chunk.source,
        page=chunk.page,
        bbox=chunk.bbox,
        section=chunk.section,
        snippet=snippet(chunk.describing_text, snippet_length),
        image_url=chunk.image_url,
        score=chunk.score,
        retrievers=chunk.ranks,
        rerank_score=chunk.rerank_score,
        matched_chunks=chunk.matched_chunks,
        next_chunk_ids=list(chunk.next_chunk_ids) if chunk.matched_chunks is not None else None,
    )
