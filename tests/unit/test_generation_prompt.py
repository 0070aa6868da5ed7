"""The pure parts of generation: prompt budget, citation parsing and filtering (the
extractive answer: ``test_generation_extractive``)."""

from __future__ import annotations

from typing import Literal

import pytest

from query_api.generation.base import Passage
from query_api.generation.citations import CitationStreamFilter
from query_api.generation.prompt import (
    SYSTEM_PROMPT,
    approximate_tokens,
    build_prompt,
    format_passage,
    parse_citations,
    sentence_ends,
    strip_unknown_citations,
)


def passage(
    number: int,
    text: str,
    *,
    modality: Literal["text", "image"] = "text",
    title: str | None = None,
    page: int | None = None,
) -> Passage:
    return Passage(
        number=number,
        chunk_id=f"chunk-{number}",
        doc_id=f"doc-{number}",
        uri=f"file:///docs/{number}.md",
        title=title,
        page=page,
        modality=modality,
        text=text,
    )


def words(count: int, word: str = "word") -> str:
    return " ".join([word] * count)


def count_words(text: str) -> int:
    """An exact, predictable counter for budget tests: one token a word."""
    return len(text.split())


def test_approximate_tokens_is_about_1_3_a_word() -> None:
    assert approximate_tokens("") == 0
    assert approximate_tokens(words(10)) == 13
    assert approximate_tokens("one two  three\nfour") == 6  # ceil(5.2)


def test_prompt_holds_numbered_passages_then_the_question() -> None:
    prompt = build_prompt(
        "Which port does the worker use?",
        [
            passage(1, "The worker listens on port 9464.", title="Ops guide", page=3),
            passage(2, "A diagram of the   pipeline.", modality="image"),
        ],
        budget_tokens=1500,
    )
    assert prompt.system == SYSTEM_PROMPT
    for phrase in ("only the numbered sources", "[1]", "don't know"):
        assert phrase in prompt.system
    assert prompt.user == (
        "Sources:\n\n"
        "[1] (Ops guide, page 3) The worker listens on port 9464.\n\n"
        "[2] Image: A diagram of the pipeline.\n\n"
        "Question: Which port does the worker use?"
    )
    assert [p.number for p in prompt.passages] == [1, 2]
    assert prompt.numbers == {1, 2}


def test_image_without_description_is_still_labelled() -> None:
    assert format_passage(passage(4, "  ", modality="image")) == "[4] Image: (no description)"


def test_budget_takes_whole_passages_in_order_then_cuts_one_at_a_sentence() -> None:
    first = passage(1, words(30, "alpha") + ".")
    second = passage(2, words(30, "beta") + ".")
    sentences = [words(20, "gamma") + f" number{index}." for index in range(5)]
    third = passage(3, " ".join(sentences))
    fourth = passage(4, "Short.")  # would fit, but is less relevant than the cut one
    prompt = build_prompt(
        "q", [first, second, third, fourth], budget_tokens=140, count_tokens=count_words
    )
    assert [p.number for p in prompt.passages] == [1, 2, 3]
    assert prompt.passages[:2] == (first, second)  # whole, unchanged
    cut = prompt.passages[2]
    # 140 - 32 - 32 = 76 tokens left: the label and three 21-word sentences fit, four don't
    assert cut.text == " ".join(sentences[:3]) + " …"
    assert cut.chunk_id == third.chunk_id
    assert "[3] gamma" in prompt.user
    assert "Short." not in prompt.user


def test_budget_drops_a_passage_when_under_40_tokens_of_it_would_fit() -> None:
    first = passage(1, words(100) + ".")
    second = passage(2, words(30, "beta") + ". " + words(30, "gamma") + ".")
    prompt = build_prompt("q", [first, second], budget_tokens=140, count_tokens=count_words)
    assert [p.number for p in prompt.passages] == [1]  # 38 tokens left: 31 would fit


def test_budget_cut_keeps_a_passage_when_40_tokens_fit() -> None:
    first = passage(1, words(60) + ".")
    second = passage(2, words(45, "beta") + ". " + words(45, "gamma") + ".")
    prompt = build_prompt("q", [first, second], budget_tokens=120, count_tokens=count_words)
    assert [p.number for p in prompt.passages] == [1, 2]
    assert prompt.passages[1].text == words(45, "beta") + ". …"


def test_passage_without_sentence_boundary_is_dropped_not_cut_mid_sentence() -> None:
    prompt = build_prompt("q", [passage(1, words(500))], budget_tokens=100)
    assert prompt.passages == ()
    assert "Sources:" in prompt.user


def test_a_cut_never_falls_inside_a_citation_marker() -> None:
    text = "One fact. [2] Two facts! [1, 3] A third? See [4. 5] here. End"
    cuts = [text[:end] for end in sentence_ends(text)]
    assert cuts == [
        "One fact. [2]",
        "One fact. [2] Two facts! [1, 3]",
        "One fact. [2] Two facts! [1, 3] A third?",
        "One fact. [2] Two facts! [1, 3] A third? See [4. 5] here.",
    ]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Port 9464 [1].", (1,)),
        ("It uses [2, 1] and again [1].", (2, 1)),
        ("Both [1][3].", (1, 3)),
        ("Range [2-4] and [3–1].", (2, 3, 4)),
        ("Semicolons [3; 1].", (3, 1)),
        ("Spaces [ 2 ].", (2,)),
        ("Not allowed [9] but [3].", (3,)),
        ("Not markers: [a], [1.5], [], (1), list[int].", ()),
        ("Wide range [1-500].", ()),
        ("", ()),
    ],
)
def test_parse_citations(answer: str, expected: tuple[int, ...]) -> None:
    assert parse_citations(answer, {1, 2, 3, 4}) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Port 9464 [1].", "Port 9464 [1]."),
        ("Port 9464 [7].", "Port 9464."),
        ("Port [1, 7] and [7, 2].", "Port [1] and [2]."),
        ("Port [1][7].", "Port [1]."),
        ("Port [7][1].", "Port [1]."),
        ("Port [1-3].", "Port [1, 2]."),
        ("Repeats [1, 1] go.", "Repeats [1] go."),
        ("Not a marker [x7].", "Not a marker [x7]."),
    ],
)
def test_strip_unknown_citations(answer: str, expected: str) -> None:
    assert strip_unknown_citations(answer, {1, 2}) == expected


def test_stream_filter_never_sends_part_of_a_marker_or_an_unknown_number() -> None:
    stream = CitationStreamFilter({1, 2})
    sent = [stream.feed(piece) for piece in ["Port 9464 [", "1", "] and [", "7", "].", " Done"]]
    assert sent == ["Port 9464", "", " [1] and", "", ".", " Done"]
    assert stream.flush() == ""


def test_stream_filter_removes_an_unknown_marker_with_the_space_sent_before_it() -> None:
    stream = CitationStreamFilter({1})
    sent = [stream.feed(piece) for piece in ["Port 9464 ", "[7]", "[1]", "."]]
    assert "".join(sent) + stream.flush() == "Port 9464 [1]."
    stream = CitationStreamFilter({1})
    sent = [stream.feed(piece) for piece in ["Port 9464 ", "[7]", "."]]
    assert "".join(sent) + stream.flush() == "Port 9464."


def test_stream_filter_lets_other_brackets_through() -> None:
    stream = CitationStreamFilter({1})
    assert stream.feed("a list[") == "a list"
    assert stream.feed("int] here") == "[int] here"
    assert stream.feed(" and [") == " and"
    assert stream.flush() == " ["  # the stream ended on an open bracket


def test_abbreviations_and_initials_end_no_sentence() -> None:
    text = "Use a parser (e.g. a JSON one). Ask J. Smith, i.e. the owner. See fig. 3. Done."
    assert [text[:end] for end in sentence_ends(text)] == [
        "Use a parser (e.g. a JSON one).",
        "Use a parser (e.g. a JSON one). Ask J. Smith, i.e. the owner.",
        "Use a parser (e.g. a JSON one). Ask J. Smith, i.e. the owner. See fig. 3.",
    ]
