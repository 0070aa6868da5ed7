"""When a generated answer may be shown: repetition, citations, length, and the gate that
decides what of a stream is sent (pure)."""

from __future__ import annotations

import time

import pytest

from query_api.generation.gate import AnswerGate
from query_api.generation.quality import fallback_reason, repetition_start

LOOP = "I use the command line to run a shell command. "


def test_a_repeated_sentence_is_found_where_it_starts_again() -> None:
    text = "Use subprocess.run [1]. " + LOOP + LOOP + LOOP
    assert repetition_start(text) == text.index(LOOP) + len(LOOP)


def test_a_repeat_ignores_case_punctuation_and_citation_markers() -> None:
    text = "It prints the output [1]. it prints THE output! [2]"
    assert repetition_start(text) == text.index("it prints THE")


def test_a_loop_inside_one_long_line_is_found_by_its_word_run() -> None:
    run = "the command returns the output of the process"
    text = f"Run it: {run} {run} {run}"
    start = repetition_start(text)
    assert start == text.index(run, text.index(run) + 1)


def test_a_stuttering_single_word_is_a_loop() -> None:
    text = "Yes " + "no " * 12
    assert repetition_start(text) == text.index("no ") + len("no ")


@pytest.mark.parametrize(
    "text",
    [
        "Use subprocess.run with capture_output=True [1]. It returns a CompletedProcess [2].",
        "Call run [1]. Then call run again with check=True [1].",  # shared words, no loop
        "",
    ],
)
def test_ordinary_answers_do_not_repeat(text: str) -> None:
    assert repetition_start(text) is None


def test_an_unfinished_sentence_is_not_yet_a_repeat() -> None:
    assert repetition_start("It is fixed. It is fixed") is None
    assert repetition_start("It is fixed. It is fixed.") == len("It is fixed. ")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Use subprocess.run to capture the output [1].", None),
        ("Use subprocess.run to capture the output.", "no_citations"),
        ("Use subprocess.run to capture the output [9].", "no_citations"),  # not retrieved
        ("[1].", "too_short"),
        ("   ", "too_short"),
        ("Yes [1].", "too_short"),
    ],
)
def test_fallback_reason(answer: str, expected: str | None) -> None:
    assert fallback_reason(answer, {1, 2}) == expected


def test_the_gate_holds_text_until_a_citation_then_releases_whole_sentences() -> None:
    gate = AnswerGate({1})
    assert gate.feed("  The output ") == ""
    assert gate.feed("is captured. It is ") == ""  # no citation yet: nothing is sent
    assert gate.feed("returned [1]. Then") == "The output is captured. It is returned [1]."
    assert gate.feed(" it ends") == ""  # an unfinished sentence waits
    assert gate.finish(complete=True) == " Then it ends"
    assert gate.verdict() is None
    assert gate.released == "The output is captured. It is returned [1]. Then it ends"


def test_the_gate_sends_nothing_of_an_answer_that_never_cites() -> None:
    gate = AnswerGate({1})
    for piece in ("It uses ", "a shell. ", "It prints."):
        assert gate.feed(piece) == ""
    assert gate.finish(complete=True) == ""
    assert gate.verdict() == "no_citations"
    assert gate.released == ""


def test_the_gate_stops_at_a_repetition_and_never_sends_it() -> None:
    gate = AnswerGate({1})
    sent = gate.feed("It prints the output [1]. ") + gate.feed("It loops. ")
    sent += gate.feed("It loops. ")
    assert gate.repeating
    assert gate.feed("More.") == ""
    sent += gate.finish(complete=False)
    assert sent == "It prints the output [1]. It loops."
    assert gate.verdict() is None


def test_a_cut_stream_drops_its_unfinished_sentence() -> None:
    gate = AnswerGate({1})
    sent = gate.feed("It prints the output [1]. And it") + gate.finish(complete=False)
    assert sent == "It prints the output [1]."


def test_a_loop_before_any_citation_leaves_nothing_to_send() -> None:
    gate = AnswerGate({1})
    for _ in range(3):
        assert gate.feed(LOOP) == ""
    assert gate.repeating
    assert gate.finish(complete=False) == ""
    assert gate.verdict() == "no_citations"
    assert gate.kept == LOOP


def long_answer(sentences: int) -> list[str]:
    """``sentences`` distinct sentences of twelve distinct words, one word a piece."""
    pieces = ["It is cited [1]."]
    for sentence in range(sentences):
        pieces += [f" s{sentence}w{word}" for word in range(11)] + [f" s{sentence}end."]
    return pieces


def test_a_long_answer_streams_in_linear_time() -> None:
    gate = AnswerGate({1})
    pieces = long_answer(200)  # ~2,400 pieces, ~17,000 characters
    started = time.perf_counter()
    sent = "".join(gate.feed(piece) for piece in pieces) + gate.finish(complete=True)
    assert sent == "".join(pieces)
    # Re-reading the whole answer on every piece took over 20 s for twice as many.
    assert time.perf_counter() - started < 5
    assert not gate.repeating


def test_a_loop_late_in_a_long_answer_is_still_found() -> None:
    gate = AnswerGate({1})
    pieces = [*long_answer(150), " " + LOOP, LOOP, LOOP]
    sent = "".join(gate.feed(piece) for piece in pieces) + gate.finish(complete=False)
    assert gate.repeating
    assert sent.count("command line") == 1
