"""Writing the answer: a short grounded prompt, the LLM streamed through a gate, and the
extractive answer whenever the generated one cannot be trusted.

What the caller sees (``TokenEvent``s, then one ``CitationsEvent``, then ``DoneEvent``):

- nothing retrieved → a one-line message, no citations, ``fallback_reason="no_passages"``;
- no LLM → the extractive answer, ``generator="extractive"``, ``fallback_reason="no_llm"``;
- the LLM writes an answer that cites a passage of its prompt, says something and does
  not loop → that answer, ``generator=llm.name``, ``fallback_reason=None``. It is streamed
  a sentence at a time from its first citation on (``AnswerGate``); a repetition stops
  the generation and the answer ends before it;
- anything else (no valid citation, too short, a loop before any citation, a failure or
  the ``answer_timeout_s`` budget before a cited sentence) → none of the generated text
  was sent; the extractive answer is, labelled ``generator="extractive"`` with the
  ``fallback_reason``.

The prompt holds the ``prompt_passages`` best passages of distinct documents, each cut to
its ``prompt_passage_words`` words nearest the question: on a CPU the time to the first
token grows with the prompt. Citation numbers outside the prompt never reach the caller
(``CitationStreamFilter``). ``DoneEvent.answer`` is exactly the concatenation of the
``TokenEvent`` texts. Error details (which may echo credentials) go to the log, redacted,
never into the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from query_api.generation.base import (
    LLM,
    AnswerEvent,
    CitationsEvent,
    DoneEvent,
    FallbackReason,
    LLMUnavailable,
    Passage,
    TokenEvent,
)
from query_api.generation.citations import CitationStreamFilter, parse_citations
from query_api.generation.extractive import (
    ExtractiveAnswer,
    distinct_documents,
    extractive_answer,
)
from query_api.generation.gate import AnswerGate
from query_api.generation.prompt import Prompt, TokenCounter, approximate_tokens, build_prompt
from query_api.generation.redaction import redact
from query_api.generation.relevance import nearest_sentences
from query_api.generation.settings import GenerationSettings

logger = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
NO_SOURCES_ANSWER = "No passages were found for this question, so there is nothing to answer from."


async def _close(stream: AsyncIterator[str]) -> None:
    """Close an LLM's stream however its reading ended: an async generator left open would
    keep a local model generating for a client that has gone."""
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()


def prompt_for(
    question: str,
    passages: Sequence[Passage],
    settings: GenerationSettings,
    count_tokens: TokenCounter = approximate_tokens,
) -> Prompt:
    """The prompt: the best passage of each of the first ``prompt_passages`` documents,
    cut to the sentences nearest the question (pure)."""
    chosen = [
        dataclasses.replace(
            passage,
            text=nearest_sentences(
                passage.text, question, max_sentences=3, max_words=settings.prompt_passage_words
            ),
        )
        for passage in distinct_documents(passages, settings.prompt_passages, fill=True)
    ]
    return build_prompt(
        question, chosen, budget_tokens=settings.prompt_budget_tokens, count_tokens=count_tokens
    )


@dataclasses.dataclass(frozen=True)
class _Generated:
    answer: str
    stop: FallbackReason | None
    """Why the stream ended early: ``repetition``, ``timeout``, ``llm_failed``."""
    failure: str | None
    first_token_s: float | None


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
    prompt = prompt_for(question, passages, settings, count_tokens)
    reason: FallbackReason | None
    details = ""
    if not passages:
        reason = "no_passages"
        yield TokenEvent(NO_SOURCES_ANSWER)
        yield CitationsEvent(())
        yield DoneEvent(answer=NO_SOURCES_ANSWER, generator=EXTRACTIVE, fallback_reason=reason)
        _log(EXTRACTIVE, reason, passages, prompt, (), details, NO_SOURCES_ANSWER, started)
        return
    generator, answer, citations = EXTRACTIVE, "", tuple[int, ...]()
    if llm is None:
        reason = "no_llm"
    else:
        gate = AnswerGate(prompt.numbers)
        generated: list[_Generated] = []
        # aclosing: a caller that stops reading (client gone) closes the LLM's stream too
        async with contextlib.aclosing(_generate(llm, prompt, settings, gate, generated)) as texts:
            async for text in texts:
                yield TokenEvent(text)
        outcome = generated[0]
        reason = gate.verdict()
        if reason is None:
            generator, answer = llm.name, outcome.answer
            citations = parse_citations(answer, prompt.numbers)
        else:
            reason = outcome.stop or reason
        details = (
            f"stop={outcome.stop or '-'} first_token_ms="
            f"{-1 if outcome.first_token_s is None else round(outcome.first_token_s * 1000)}"
            f" failure={outcome.failure or '-'}"
        )
    if reason is not None:
        fallback: ExtractiveAnswer = extractive_answer(passages, question, reason=reason)
        for piece in fallback.pieces:
            yield TokenEvent(piece)
        answer, citations = fallback.text, fallback.numbers
    yield CitationsEvent(citations)
    yield DoneEvent(answer=answer, generator=generator, fallback_reason=reason)
    _log(generator, reason, passages, prompt, citations, details, answer, started)


async def _generate(
    llm: LLM,
    prompt: Prompt,
    settings: GenerationSettings,
    gate: AnswerGate,
    outcome: list[_Generated],
) -> AsyncGenerator[str, None]:
    """Stream the LLM through the citation filter and the gate, within the time budget;
    yield what may be sent, and append the outcome to ``outcome`` at the end."""
    started = time.perf_counter()
    deadline = started + settings.answer_timeout_s
    citation_filter = CitationStreamFilter(prompt.numbers)
    stream = llm.stream(prompt.system, prompt.user, max_tokens=settings.max_answer_tokens)
    pieces = aiter(stream)
    stop: FallbackReason | None = None
    failure: str | None = None
    first_token_s: float | None = None
    try:
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                stop = "timeout"
                break
            try:
                piece = await asyncio.wait_for(anext(pieces), remaining)
            except StopAsyncIteration:
                break
            if first_token_s is None and piece.strip():
                first_token_s = time.perf_counter() - started
            ready = gate.feed(citation_filter.feed(piece))
            if ready:
                yield ready
            if gate.repeating:
                stop = "repetition"
                break
    except TimeoutError:
        stop = "timeout"
    except LLMUnavailable as error:
        stop, failure = "llm_failed", redact(str(error))
    finally:
        await _close(stream)
    if stop is None:
        ready = gate.feed(citation_filter.flush())
        if ready:
            yield ready
    ready = gate.finish(complete=stop is None)
    if ready:
        yield ready
    if stop is None and gate.repeating:  # found in the last piece
        stop = "repetition"
    outcome.append(_Generated(gate.released, stop, failure, first_token_s))


def _log(
    generator: str,
    reason: FallbackReason | None,
    passages: Sequence[Passage],
    prompt: Prompt,
    citations: tuple[int, ...],
    details: str,
    answer: str,
    started: float,
) -> None:
    logger.info(
        "answer generator=%s fallback_reason=%s passages=%d in_prompt=%d cited=%s %s "
        "chars=%d took_ms=%.0f",
        generator,
        reason or "-",
        len(passages),
        len(prompt.passages),
        ",".join(map(str, citations)) or "-",
        details,
        len(answer),
        (time.perf_counter() - started) * 1000,
    )
