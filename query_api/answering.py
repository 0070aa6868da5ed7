"""``POST /ask``: retrieved chunks become numbered passages, the generation layer writes
the answer, and its events become either one JSON answer or Server-Sent Events.

The generation layer is imported and its LLM loaded lazily, on the first question, in a
worker thread (a local model takes seconds to load, and an API that only searches never
pays for it). A configured LLM that fails to load is logged once and the answers are
extractive, which ``generator`` then says.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from query_api.generation.base import (
    LLM,
    CitationsEvent,
    DoneEvent,
    Passage,
    TokenEvent,
)
from query_api.generation.redaction import redact
from query_api.hits import RetrievedChunk
from query_api.schemas import AskResponse, Citation

if TYPE_CHECKING:
    from query_api.generation import GenerationSettings

logger = logging.getLogger(__name__)

LLMFactory = Callable[["GenerationSettings"], "LLM | None"]
"""Builds the LLM from the generation settings (``None``: extractive answers)."""


def default_llm(settings: GenerationSettings) -> LLM | None:
    from query_api.generation import load_llm

    return load_llm(settings)


CANDIDATES_PER_PASSAGE = 4
"""``/ask`` retrieves this many chunks for each passage it keeps, so that grouping by
document still has ``k`` passages to give."""


def candidate_count(k: int, limit: int) -> int:
    """How many chunks to retrieve for ``k`` passages (pure)."""
    return min(limit, max(k, k * CANDIDATES_PER_PASSAGE))


def group_by_document(
    chunks: Sequence[RetrievedChunk], k: int, *, per_document: int = 2
) -> list[RetrievedChunk]:
    """Up to ``k`` chunks, distinct documents first: every document's best chunk (in
    fused order), then every document's second best, and so on, at most
    ``per_document`` of one document (pure). Six chunks of one page would otherwise be
    six citations of the same page."""
    by_document: dict[str, list[RetrievedChunk]] = {}
    for chunk in chunks:
        kept = by_document.setdefault(chunk.doc_id, [])
        if len(kept) < per_document:
            kept.append(chunk)
    position = {chunk.chunk_id: index for index, chunk in enumerate(chunks)}
    tiers = sorted(
        (
            (tier, position[chunk.chunk_id], chunk)
            for kept in by_document.values()
            for tier, chunk in enumerate(kept)
        ),
        key=lambda entry: (entry[0], entry[1]),
    )
    return [chunk for _, _, chunk in tiers][:k]


def passages_from(chunks: Sequence[RetrievedChunk]) -> list[Passage]:
    """Numbered passages (1-based, in fused order) with their full text (pure)."""
    return [
        Passage(
            number=number,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            uri=chunk.uri,
            title=chunk.title,
            page=chunk.page,
            modality=chunk.modality,
            text=chunk.describing_text,
            image_url=chunk.image_url,
            score=chunk.score,
        )
        for number, chunk in enumerate(chunks, start=1)
    ]


def citations_for(numbers: Sequence[int], passages: Sequence[Passage]) -> list[Citation]:
    """Citations for the cited passage numbers; a number that names no retrieved passage
    is dropped, so every citation is a retrieved chunk (pure)."""
    by_number = {passage.number: passage for passage in passages}
    return [
        Citation(
            number=number,
            chunk_id=by_number[number].chunk_id,
            doc_id=by_number[number].doc_id,
            uri=by_number[number].uri,
            title=by_number[number].title,
            page=by_number[number].page,
            modality=by_number[number].modality,
            image_url=by_number[number].image_url,
        )
        for number in dict.fromkeys(numbers)
        if number in by_number
    ]


class LazyGeneration:
    """The LLM, made from the generation settings once, on first use, off the event loop."""

    def __init__(self, settings: GenerationSettings, factory: LLMFactory) -> None:
        self._settings = settings
        self._factory = factory
        self._llm: LLM | None = None
        self._loaded = False
        self._lock = asyncio.Lock()
        self.failure: str | None = None

    @property
    def llm_name(self) -> str | None:
        return self._llm.name if self._llm is not None else None

    async def get(self) -> tuple[LLM | None, GenerationSettings]:
        async with self._lock:
            if not self._loaded:
                try:
                    self._llm = await asyncio.to_thread(self._factory, self._settings)
                    # A local model loads here, once, so that loading never counts
                    # against an answer's time budget.
                    load = getattr(self._llm, "load", None)
                    if load is not None:
                        await asyncio.to_thread(load)
                except Exception as error:  # answer extractively rather than not at all
                    self._llm = None
                    self.failure = redact(
                        f"{type(error).__name__}: {error}", self._settings.secrets()
                    )
                    logger.error("llm_unavailable reason=%s answers are extractive", self.failure)
                self._loaded = True
            return self._llm, self._settings

    async def close(self) -> None:
        """Release the LLM's resources (an HTTP client's connections, say)."""
        closer = getattr(self._llm, "aclose", None)
        if closer is not None:
            await closer()


async def answer(
    question: str,
    passages: Sequence[Passage],
    llm: LLM | None,
    settings: GenerationSettings,
    started: float,
) -> AskResponse:
    """Run the generation to its end and return it as one response."""
    from query_api.generation import generate_answer

    citations: list[Citation] = []
    done = DoneEvent(answer="", generator="extractive")
    async for event in generate_answer(question, list(passages), llm, settings):
        if isinstance(event, CitationsEvent):
            citations = citations_for(event.numbers, passages)
        elif isinstance(event, DoneEvent):
            done = event
    return AskResponse(
        answer=done.answer,
        citations=citations,
        generator=done.generator,
        fallback_reason=done.fallback_reason,
        took_ms=round((time.perf_counter() - started) * 1000, 3),
    )


async def answer_stream(
    question: str,
    passages: Sequence[Passage],
    llm: LLM | None,
    settings: GenerationSettings,
    started: float,
) -> AsyncIterator[dict[str, Any]]:
    """Server-Sent Events: ``token`` {text}…, ``citations`` [Citation…], ``done``
    {generator, fallback_reason, took_ms}; ``error`` {detail} if answering fails
    half-way. Tokens are never taken back: a generated answer is held back until it
    cites a retrieved source and then sent a sentence at a time; one that never does is
    not sent at all, and the tokens are the extractive answer's (``generate_answer``)."""
    from query_api.generation import generate_answer

    try:
        async for event in generate_answer(question, list(passages), llm, settings):
            if isinstance(event, TokenEvent):
                yield _sse("token", {"text": event.text})
            elif isinstance(event, CitationsEvent):
                cited = citations_for(event.numbers, passages)
                yield _sse("citations", [citation.model_dump(mode="json") for citation in cited])
            elif isinstance(event, DoneEvent):
                took_ms = round((time.perf_counter() - started) * 1000, 3)
                done = {
                    "generator": event.generator,
                    "fallback_reason": event.fallback_reason,
                    "took_ms": took_ms,
                }
                yield _sse("done", done)
    except Exception as error:  # the status line is sent already: report in-band
        logger.error("ask_stream_failed error=%s", redact(f"{type(error).__name__}: {error}"))
        yield _sse("error", {"detail": "answer generation failed"})


def _sse(event: str, data: object) -> dict[str, Any]:
    return {"event": event, "data": json.dumps(data, ensure_ascii=False)}
