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
    """The generation settings and LLM, made once on first use, off the event loop."""

    def __init__(self, settings: GenerationSettings | None, factory: LLMFactory) -> None:
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
            if self._settings is None:
                from query_api.generation import GenerationSettings

                self._settings = GenerationSettings()
            if not self._loaded:
                try:
                    self._llm = await asyncio.to_thread(self._factory, self._settings)
                except Exception as error:  # answer extractively rather than not at all
                    self.failure = f"{type(error).__name__}: {error}"
                    logger.error("llm_unavailable reason=%s answers are extractive", error)
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
    text, generator = "", "extractive"
    async for event in generate_answer(question, list(passages), llm, settings):
        if isinstance(event, CitationsEvent):
            citations = citations_for(event.numbers, passages)
        elif isinstance(event, DoneEvent):
            text, generator = event.answer, event.generator
    return AskResponse(
        answer=text,
        citations=citations,
        generator=generator,
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
    {generator, took_ms}; ``error`` {detail} if generation fails half-way."""
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
                yield _sse("done", {"generator": event.generator, "took_ms": took_ms})
    except Exception as error:  # the status line is sent already: report in-band
        logger.exception("ask_stream_failed")
        yield _sse("error", {"detail": f"answer generation failed: {error}"})


def _sse(event: str, data: object) -> dict[str, Any]:
    return {"event": event, "data": json.dumps(data, ensure_ascii=False)}
