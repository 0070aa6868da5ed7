"""The extractive answer and the trimming of passages to the sentences nearest the
question; grouping retrieved chunks by document (pure)."""

from __future__ import annotations

from typing import Literal

from query_api.answering import candidate_count, group_by_document
from query_api.generation.base import Passage
from query_api.generation.extractive import distinct_documents, extractive_answer
from query_api.generation.relevance import nearest_sentences, split_sentences, terms
from query_api.hits import RetrievedChunk

SUBPROCESS = (
    "This module allows you to spawn new processes. It replaces older modules. "
    "The recommended approach is to use the run() function. "
    "To capture what a command prints, pass capture_output=True; stdout then holds it. "
    "Popen is the underlying interface. It offers more flexibility."
)


def passage(
    number: int,
    text: str,
    doc_id: str | None = None,
    modality: Literal["text", "image"] = "text",
) -> Passage:
    return Passage(
        number=number,
        chunk_id=f"c{number}",
        doc_id=doc_id or f"doc-{number}",
        uri=f"https://docs.example/{number}.html",
        title=f"Page {number}",
        page=None,
        modality=modality,
        text=text,
    )


def test_terms_are_content_words_cut_to_a_stem() -> None:
    assert terms("How do I capture what it prints?") == ["captu", "print"]
    assert terms("Printing captured output") == ["print", "captu", "outpu"]


def test_sentences_are_split_without_breaking_citation_markers() -> None:
    assert split_sentences("One [1]. Two!  Three") == ["One [1].", "Two!", "Three"]


def test_headings_and_paragraphs_end_sentences() -> None:
    text = "# Terminal\n\nThe terminal shows output\n\nIt scrolls.\n## Next\n- item one\n- item two"
    assert split_sentences(text) == [
        "Terminal",
        "The terminal shows output",
        "It scrolls.",
        "Next",
        "- item one",
        "- item two",
    ]


def test_nearest_sentences_keep_the_best_in_their_order_and_mark_gaps() -> None:
    kept = nearest_sentences(
        SUBPROCESS, "How do I run a command and capture what it prints?", max_sentences=2
    )
    assert kept == (
        "… The recommended approach is to use the run() function. "
        "To capture what a command prints, pass capture_output=True; stdout then holds it. …"
    )


def test_nearest_sentences_fall_back_to_the_first_when_nothing_matches() -> None:
    kept = nearest_sentences(SUBPROCESS, "zebra?", max_sentences=1)
    assert kept == "This module allows you to spawn new processes. …"


def test_nearest_sentences_respect_the_word_limit_and_drop_source_markers() -> None:
    long_sentence = " ".join(["word"] * 100) + " capture."
    kept = nearest_sentences(f"Capture it [3]. {long_sentence}", "capture", max_words=10)
    assert kept == "Capture it. …"
    only = nearest_sentences(long_sentence, "capture", max_words=10)
    assert only == " ".join(["word"] * 10) + " …"


def test_sentences_without_a_question_term_are_left_out() -> None:
    assert nearest_sentences("Fact one. Other. Fact two.", "fact") == "Fact one. … Fact two."
    assert nearest_sentences("Fact one. Fact two.", "fact") == "Fact one. Fact two."


def test_the_extractive_answer_shows_one_trimmed_passage_per_document() -> None:
    passages = [
        passage(1, SUBPROCESS, doc_id="subprocess"),
        passage(2, "Run with check=True to raise on failure.", doc_id="subprocess"),
        passage(3, "A terminal showing captured output.", modality="image"),
        passage(4, "os.system runs a command in a subshell; its output is not captured."),
        passage(5, "Not shown: three documents are enough."),
    ]
    answer = extractive_answer(passages, "How do I capture what a command prints?")
    assert answer.text == (
        "No language model is configured; the most relevant passages are:"
        "\n- … To capture what a command prints, pass capture_output=True; stdout then holds "
        "it. … [1]"
        "\n- Image: A terminal showing captured output. [3]"
        "\n- os.system runs a command in a subshell; its output is not captured. [4]"
    )
    assert answer.numbers == (1, 3, 4)
    assert len(answer.pieces) == 4


def test_the_extractive_answer_says_why_and_handles_no_passages() -> None:
    answer = extractive_answer([passage(5, "A fact.")], "fact?", reason="repetition")
    assert answer.text == (
        "The language model's answer repeated itself; the most relevant passages are:"
        "\n- A fact. [5]"
    )
    empty = extractive_answer([], "fact?")
    assert (empty.text, empty.numbers) == (
        "No language model is configured, and no passages were found.",
        (),
    )


def test_distinct_documents_first_then_filled_only_when_asked() -> None:
    passages = [passage(1, "a", "x"), passage(2, "b", "x"), passage(3, "c", "y")]
    assert [p.number for p in distinct_documents(passages, 3)] == [1, 3]
    assert [p.number for p in distinct_documents(passages, 3, fill=True)] == [1, 3, 2]
    assert [p.number for p in distinct_documents(passages, 1, fill=True)] == [1]


def chunk(chunk_id: str, doc_id: str) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=chunk_id,
        doc_id=doc_id,
        modality="text",
        uri=f"https://docs.example/{doc_id}.html",
        source="fs",
        text=chunk_id,
        score=1.0,
    )


def test_group_by_document_puts_distinct_documents_first_at_most_two_each() -> None:
    chunks = [
        chunk("a1", "a"),
        chunk("a2", "a"),
        chunk("a3", "a"),
        chunk("b1", "b"),
        chunk("a4", "a"),
        chunk("c1", "c"),
        chunk("b2", "b"),
    ]
    grouped = [c.chunk_id for c in group_by_document(chunks, 6)]
    assert grouped == ["a1", "b1", "c1", "a2", "b2"]
    assert [c.chunk_id for c in group_by_document(chunks, 2)] == ["a1", "b1"]
    assert group_by_document([], 6) == []


def test_ask_retrieves_more_candidates_than_it_keeps() -> None:
    assert candidate_count(6, 100) == 24
    assert candidate_count(20, 60) == 60
