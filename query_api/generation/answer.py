"""Writing the answer: prompt within budget, stream the LLM, check its citations, fall back.

What the caller sees (``TokenEvent``s, then one ``CitationsEvent``, then ``DoneEvent``):

- no passage fits the prompt → a one-line extractive message, no citations;
- no LLM → the extractive answer, ``generator="extractive"``;
- the LLM fails before writing anything (``LLMUnavailable``), or writes only whitespace →
  the extractive answer with the reason in its lead-in, ``generator="extractive"``;
- the LLM answers and cites at least one passage of the prompt → its answer as streamed,
  ``generator=llm.name``;
- the LLM answers but cites none of them (a small model ignoring the instruction, or
  "I don't know") → its text stays as streamed (it was already sent), then a blank line and
  the extractive answer with its citations, ``generator=f"{llm.name}+extractive"``;
- the LLM fails after writing some text → a note saying the answer was cut short, then
  the same citation rule as above.

Citation numbers outside the prompt's passages never reach the caller: the stream passes
through ``CitationStreamFilter``, which removes them before a token is sent.
``DoneEvent.answer`` is always exactly the concatenation of the ``TokenEvent`` texts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence

from query_api.generation.base import (
    LLM,
    AnswerEvent,
    CitationsEvent,
    DoneEvent,
    LLMUnavailable,
    Passage,
    TokenEvent,
)
from query_api.generation.citations import CitationStreamFilter, parse_citations
from query_api.generation.extractive import (
    EMPTY_ANSWER_REASON,
    NO_CITATION_REASON,
    NO_LLM_REASON,
    ExtractiveAnswer,
    extractive_answer,
    unavailable_reason,
)
from query_api.generation.prompt import TokenCounter, approximate_tokens, build_prompt
from query_api.generation.settings import GenerationSettings

logger = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
NO_SOURCES_ANSWER = "No passages were found for this question, so there is nothing to answer from."
SEPARATOR = "\n\n"


async def _close(stream: AsyncIterator[str]) -> None:
    """Close an LLM's stream however its reading ended: an async generator left open would
    keep a local model generating for a client that has gone."""
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()


def _extractive_events(answer: ExtractiveAnswer, prefix: str = "") -> list[TokenEvent]:
    pieces = list(answer.pieces)
    pieces[0] = prefix + pieces[0]
    return [TokenEvent(piece) for piece in pieces]


async def generate_answer(
    question: str,
    passages: Sequence[Passage],
    llm: LLM | None,
    settings: GenerationSettings,
    *,
    count_tokens: TokenCounter = approximate_tokens,
) -> AsyncIterator[AnswerEvent]:
    """Answer ``question`` from ``passages`` (numbered, in relevance order) as events."""
    started = time.perf_counter()
    prompt = build_prompt(
        question, passages, budget_tokens=settings.prompt_budget_tokens, count_tokens=count_tokens
    )
    allowed = prompt.numbers
    written: list[str] = []
    generator = EXTRACTIVE
    citations: tuple[int, ...] = ()
    failure: LLMUnavailable | None = None

    if not prompt.passages:
        written.append(NO_SOURCES_ANSWER)
        yield TokenEvent(NO_SOURCES_ANSWER)
    elif llm is None:
        fallback = extractive_answer(prompt.passages, reason=NO_LLM_REASON)
        for event in _extractive_events(fallback):
            written.append(event.text)
            yield event
        citations = fallback.numbers
    else:
        citation_filter = CitationStreamFilter(allowed)
        stream = llm.stream(prompt.system, prompt.user, max_tokens=settings.max_answer_tokens)
        try:
            async for piece in stream:
                text = citation_filter.feed(piece)
                if not written and text:
                    text = text.lstrip()  # no leading blank line before the answer
                if text:
                    written.append(text)
                    yield TokenEvent(text)
        except LLMUnavailable as error:
            failure = error
        finally:
            await _close(stream)
        rest = citation_filter.flush()
        if not written:
            rest = rest.lstrip()
        if rest:
            written.append(rest)
            yield TokenEvent(rest)

        llm_wrote = bool(written)  # whitespace before the first word is never sent
        citations = parse_citations("".join(written), allowed)
        if failure is not None and llm_wrote:
            note = f"{SEPARATOR}(The answer stops here: the language model failed: {failure})"
            written.append(note)
            yield TokenEvent(note)
        if citations:
            generator = llm.name
        else:
            if not llm_wrote:
                reason = EMPTY_ANSWER_REASON if failure is None else unavailable_reason(failure)
            else:
                generator = f"{llm.name}+{EXTRACTIVE}"
                reason = NO_CITATION_REASON
            fallback = extractive_answer(prompt.passages, reason=reason)
            for event in _extractive_events(fallback, SEPARATOR if written else ""):
                written.append(event.text)
                yield event
            citations = fallback.numbers

    answer = "".join(written)
    yield CitationsEvent(citations)
    yield DoneEvent(answer=answer, generator=generator)
    logger.info(
        "answer generator=%s passages=%d included=%d cited=%s failure=%s chars=%d took_ms=%.0f",
        generator,
        len(passages),
        len(prompt.passages),
        ",".join(map(str, citations)) or "-",
        type(failure).__name__ if failure is not None else "-",
        len(answer),
        (time.perf_counter() - started) * 1000,
    )
