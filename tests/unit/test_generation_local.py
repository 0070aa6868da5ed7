"""The real local model: Gemma 3 270M from its PyPI package, converted once into
``~/.cache/mmrag/llm`` (the first run on a fresh machine pays about a minute for it; later
runs load in seconds), answering a one-fact grounded question. Also the pure stop logic."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import cast

import pytest

from query_api.generation import (
    CitationsEvent,
    DoneEvent,
    GenerationSettings,
    Passage,
    generate_answer,
)
from query_api.generation.local import STOP_STRINGS, LocalTransformersLLM, StopScanner
from query_api.generation.packaged_model import is_converted

FACT = Passage(
    number=1,
    chunk_id="c1",
    doc_id="ops",
    uri="file:///ops.md",
    title=None,
    page=None,
    modality="text",
    text="The mmrag worker listens on port 9464 for metrics.",
)


def test_stop_scanner_cuts_at_the_first_stop_and_drops_leading_whitespace() -> None:
    scanner = StopScanner(STOP_STRINGS)
    assert scanner.feed("\n ") == ("", False)
    assert scanner.feed(" Port 9464 ") == ("Port 9464 ", False)
    assert scanner.feed("[1].\n\nQuestion: next") == ("[1].", True)


def test_stop_scanner_holds_back_what_could_start_a_stop_string() -> None:
    scanner = StopScanner(["Question:"])
    assert scanner.feed("It is 9464. Ques") == ("It is 9464. ", False)
    assert scanner.feed("tionable?") == ("Questionable?", False)
    assert scanner.feed(" Quest") == (" ", False)
    assert scanner.flush() == "Quest"


@pytest.fixture(scope="module")
def local_llm() -> LocalTransformersLLM:
    llm = LocalTransformersLLM(GenerationSettings())
    assert not llm.loaded  # lazy: nothing happens at construction
    return llm


async def test_gemma_answers_a_grounded_question_or_falls_back_honestly(
    local_llm: LocalTransformersLLM,
) -> None:
    await asyncio.to_thread(local_llm.load)  # as the API does, outside the time budget
    assert local_llm.loaded
    settings = GenerationSettings(max_answer_tokens=48)
    assert is_converted(settings.local_model_package, settings.cache_dir)
    events = [
        event
        async for event in generate_answer(
            "Which port does the worker use for metrics?", [FACT], local_llm, settings
        )
    ]
    citations, done = events[-2], events[-1]
    assert isinstance(citations, CitationsEvent)
    assert isinstance(done, DoneEvent)
    assert "9464" in done.answer, done.answer
    assert citations.numbers == (1,)
    # The 270M base model often writes no marker: then none of its text is shown.
    if done.fallback_reason is None:
        assert done.generator == local_llm.name
        assert "[1]" in done.answer
    else:
        assert done.generator == "extractive"
        assert done.answer.startswith("The language model")


async def test_a_consumer_that_stops_reading_stops_the_generation(
    local_llm: LocalTransformersLLM,
) -> None:
    stream = local_llm.stream("Write a long story.", "Once upon a time", max_tokens=200)
    async with contextlib.aclosing(cast(AsyncGenerator[str, None], stream)):
        async for _ in stream:
            break  # the client went away
    # The lock was released and the worker thread stopped: the next answer runs at once.
    pieces = [
        piece
        async for piece in local_llm.stream(
            "Answer in one word.", "Question: What colour is the sky?", max_tokens=8
        )
    ]
    assert "".join(pieces).strip()
