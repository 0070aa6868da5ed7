"""``generate_answer``'s control flow, with a scripted LLM (a fake is fine here: what is
tested is the streaming, citation and fallback logic, not a model), and ``load_llm``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest

from query_api.generation import (
    AnswerEvent,
    CitationsEvent,
    DoneEvent,
    GenerationSettings,
    LLMUnavailable,
    Passage,
    TokenEvent,
    generate_answer,
    load_llm,
)
from query_api.generation.openai_compatible import OpenAICompatibleLLM
from query_api.generation.prompt import SYSTEM_PROMPT

PASSAGES = [
    Passage(
        number=1,
        chunk_id="c1",
        doc_id="ops",
        uri="file:///ops.md",
        title="Ops",
        page=None,
        modality="text",
        text="The worker listens on port 9464 for metrics.",
    ),
    Passage(
        number=2,
        chunk_id="c2",
        doc_id="arch",
        uri="file:///arch.png",
        title=None,
        page=None,
        modality="image",
        text="Diagram: worker, Kafka and Elasticsearch.",
    ),
]


@dataclass
class ScriptedLLM:
    """Yields ``pieces`` (after ``delay_s`` each); raises ``LLMUnavailable`` before piece
    ``fail_at`` when set."""

    pieces: Sequence[str]
    fail_at: int | None = None
    delay_s: float = 0.0
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    closed: bool = False
    yielded: int = 0

    @property
    def name(self) -> str:
        return "scripted"

    async def stream(self, system: str, user: str, *, max_tokens: int) -> AsyncIterator[str]:
        self.calls.append((system, user, max_tokens))
        try:
            for index, piece in enumerate(self.pieces):
                if index == self.fail_at:
                    raise LLMUnavailable("connection reset")
                await asyncio.sleep(self.delay_s)
                self.yielded += 1
                yield piece
            if self.fail_at == len(self.pieces):
                raise LLMUnavailable("connection reset")
        finally:
            self.closed = True


async def run(
    llm: ScriptedLLM | None,
    passages: Sequence[Passage] = PASSAGES,
    settings: GenerationSettings | None = None,
) -> tuple[list[str], tuple[int, ...], DoneEvent]:
    """The token texts, the citations and the done event; checks the event protocol."""
    events: list[AnswerEvent] = [
        event
        async for event in generate_answer(
            "Which port does the worker use for metrics?",
            passages,
            llm,
            settings or GenerationSettings(provider="none"),
        )
    ]
    tokens = [event.text for event in events if isinstance(event, TokenEvent)]
    assert all(isinstance(event, TokenEvent) for event in events[:-2])
    citations, done = events[-2], events[-1]
    assert isinstance(citations, CitationsEvent)
    assert isinstance(done, DoneEvent)
    assert done.answer == "".join(tokens)
    return tokens, citations.numbers, done


async def test_a_cited_answer_streams_sentence_by_sentence_from_its_first_citation() -> None:
    llm = ScriptedLLM(
        ["\n The worker ", "uses port 9464 [", "1", "] (see [2]).", " It is ", "for metrics [1]."]
    )
    settings = GenerationSettings(provider="none", max_answer_tokens=64)
    tokens, citations, done = await run(llm, settings=settings)
    assert tokens == ["The worker uses port 9464 [1] (see [2]).", " It is for metrics [1]."]
    assert citations == (1, 2)
    assert done.generator == "scripted"
    assert done.fallback_reason is None
    system, user, max_tokens = llm.calls[0]
    assert system == SYSTEM_PROMPT
    assert "[1] (Ops) The worker listens on port 9464" in user
    assert user.endswith("Question: Which port does the worker use for metrics?")
    assert max_tokens == 64


async def test_a_caller_that_stops_reading_closes_the_llm_stream() -> None:
    llm = ScriptedLLM(["The worker uses port 9464 [1]. ", "It ", "also ", "logs."])
    settings = GenerationSettings(provider="none")
    events = cast(AsyncGenerator[AnswerEvent, None], generate_answer("q?", PASSAGES, llm, settings))
    first = await anext(events)
    assert first == TokenEvent("The worker uses port 9464 [1].")
    assert not llm.closed
    await events.aclose()  # e.g. the SSE client disconnected
    assert llm.closed


async def test_citation_numbers_outside_the_prompt_are_never_sent() -> None:
    llm = ScriptedLLM(["Port 9464 is used [", "7", "][1", ", 5]."])
    tokens, citations, done = await run(llm)
    assert done.answer == "Port 9464 is used [1]."
    assert "7" not in "".join(tokens)
    assert citations == (1,)


EXTRACTIVE_LINES = (
    "\n- The worker listens on port 9464 for metrics. [1]"
    "\n- Image: Diagram: worker, Kafka and Elasticsearch. [2]"
)


async def test_an_answer_citing_nothing_is_never_sent_the_extractive_answer_is() -> None:
    llm = ScriptedLLM(["It uses ", "port 9464.", " Really."])
    tokens, citations, done = await run(llm)
    assert "It uses" not in "".join(tokens)
    assert done.answer == (
        "The language model's answer cited no retrieved source; the most relevant passages are:"
        + EXTRACTIVE_LINES
    )
    assert citations == (1, 2)
    assert (done.generator, done.fallback_reason) == ("extractive", "no_citations")


async def test_a_loop_before_any_citation_stops_the_llm_and_falls_back() -> None:
    sentence = "I use the command line to run a shell command. "
    llm = ScriptedLLM([sentence] * 25)
    tokens, _citations, done = await run(llm)
    assert "command line" not in "".join(tokens)
    assert (done.generator, done.fallback_reason) == ("extractive", "repetition")
    assert llm.closed
    assert llm.yielded < 25  # the generation stopped at the repetition


async def test_a_loop_after_a_cited_sentence_ends_the_answer_before_the_repetition() -> None:
    llm = ScriptedLLM(["Port 9464 serves metrics [1]. ", "It is fixed. ", "It is fixed. ", "More."])
    tokens, citations, done = await run(llm)
    assert done.answer == "Port 9464 serves metrics [1]. It is fixed."
    assert tokens == ["Port 9464 serves metrics [1].", " It is fixed."]
    assert citations == (1,)
    assert (done.generator, done.fallback_reason) == ("scripted", None)


async def test_a_bare_citation_is_too_short_to_be_an_answer() -> None:
    _tokens, _citations, done = await run(ScriptedLLM(["[1]."]))
    assert (done.generator, done.fallback_reason) == ("extractive", "too_short")


async def test_unavailable_before_any_token_falls_back_without_the_error_text() -> None:
    _tokens, citations, done = await run(ScriptedLLM(["never sent"], fail_at=0))
    assert done.answer.startswith("The language model failed; the most relevant passages are:")
    assert "connection reset" not in done.answer  # details go to the log only
    assert citations == (1, 2)
    assert (done.generator, done.fallback_reason) == ("extractive", "llm_failed")


async def test_unavailable_after_a_cited_sentence_keeps_that_sentence_only() -> None:
    llm = ScriptedLLM(["Port 9464 serves metrics [1]. ", "And then"], fail_at=2)
    _tokens, citations, done = await run(llm)
    assert done.answer == "Port 9464 serves metrics [1]."
    assert citations == (1,)
    assert (done.generator, done.fallback_reason) == ("scripted", None)


async def test_unavailable_after_uncited_text_sends_only_the_extractive_answer() -> None:
    _tokens, citations, done = await run(ScriptedLLM(["Port 9464"], fail_at=1))
    assert "Port 9464" not in done.answer.split("\n")[0]
    assert citations == (1, 2)
    assert (done.generator, done.fallback_reason) == ("extractive", "llm_failed")


async def test_the_time_budget_stops_a_slow_llm() -> None:
    llm = ScriptedLLM(["Port 9464 ", "serves ", "metrics ", "[1]."], delay_s=0.2)
    settings = GenerationSettings(provider="none", answer_timeout_s=0.3)
    tokens, _citations, done = await run(llm, settings=settings)
    assert "serves" not in "".join(tokens)
    assert (done.generator, done.fallback_reason) == ("extractive", "timeout")
    assert llm.closed


async def test_a_whitespace_only_answer_is_replaced_by_the_extractive_answer() -> None:
    _tokens, citations, done = await run(ScriptedLLM(["  ", "\n"]))
    assert done.answer.startswith("The language model gave no usable answer;")
    assert (done.generator, done.fallback_reason) == ("extractive", "too_short")
    assert citations == (1, 2)


async def test_without_an_llm_the_answer_is_extractive() -> None:
    tokens, citations, done = await run(None)
    assert len(tokens) == 3  # the lead-in, then one piece per passage
    assert done.answer.startswith("No language model is configured; the most relevant passages")
    assert citations == (1, 2)
    assert (done.generator, done.fallback_reason) == ("extractive", "no_llm")


async def test_without_passages_nothing_is_asked_or_cited() -> None:
    llm = ScriptedLLM(["should not be called"])
    _tokens, citations, done = await run(llm, passages=[])
    assert llm.calls == []
    assert citations == ()
    assert (done.generator, done.fallback_reason) == ("extractive", "no_passages")
    assert "No passages were found" in done.answer


async def test_the_prompt_holds_the_best_passage_of_distinct_documents_trimmed() -> None:
    filler = " ".join(f"Filler sentence number {n} about nothing." for n in range(30))
    ops = dataclasses.replace(PASSAGES[0], text=filler + " Metrics are on port 9464. " + filler)
    same_document = dataclasses.replace(PASSAGES[0], number=2, chunk_id="c1b", text="Other.")
    other = dataclasses.replace(PASSAGES[1], number=3)
    llm = ScriptedLLM(["Port 9464 serves metrics [2]."])
    settings = GenerationSettings(provider="none", prompt_passages=2, prompt_passage_words=20)
    _tokens, citations, done = await run(llm, [ops, same_document, other], settings)
    _, user, _ = llm.calls[0]
    assert "Metrics are on port 9464." in user
    assert "number 29" not in user  # trimmed to the sentences nearest the question
    assert "[1]" in user
    assert "[3]" in user
    assert "[2]" not in user  # a second chunk of document 1 loses to document 3
    assert (done.generator, done.fallback_reason) == ("extractive", "no_citations")
    assert citations == (1, 3)  # the extractive answer shows one passage per document


def test_load_llm_follows_the_provider(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert GenerationSettings().provider == "none"  # offline default: extractive answers
    assert load_llm(GenerationSettings()) is None
    with pytest.raises(ValueError, match="MMRAG_LLM_URL"):
        load_llm(GenerationSettings(provider="openai", model="m"))
    client = load_llm(GenerationSettings(provider="openai", url="http://127.0.0.1:1/v1", model="m"))
    assert isinstance(client, OpenAICompatibleLLM)
    assert client.name == "m"
    with pytest.raises(ValueError, match="not a directory"):
        load_llm(GenerationSettings(provider="local", local_model_dir=tmp_path / "missing"))
    with caplog.at_level(logging.WARNING):
        missing = GenerationSettings(
            provider="local", local_model_package="no-such-model-package-xyz"
        )
        assert load_llm(missing) is None
    assert "no-such-model-package-xyz" in caplog.text


def test_load_llm_local_is_lazy(tmp_path: Path) -> None:
    from query_api.generation.local import LocalTransformersLLM

    llm = load_llm(GenerationSettings(provider="local", local_model_dir=tmp_path))
    assert isinstance(llm, LocalTransformersLLM)
    assert not llm.loaded  # nothing read from the (empty) directory yet
    assert llm.name == tmp_path.name


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRAG_LLM_PROVIDER", "openai")
    monkeypatch.setenv("MMRAG_LLM_API_KEY", "sk-test")
    monkeypatch.setenv("MMRAG_LLM_PROMPT_BUDGET_TOKENS", "800")
    settings = GenerationSettings()
    assert settings.provider == "openai"
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(settings)
    assert settings.prompt_budget_tokens == 800
    assert settings.cache_dir == Path.home() / ".cache" / "mmrag" / "llm"
