"""Chunking: exact spans, size bounds, split levels, overlap, and stability under edits."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.chunking import (
    TextChunkDraft,
    approximate_token_count,
    chunk_text_parts,
    normalise_for_identity,
)
from indexer.chunks import (
    ChunkingOptions,
    build_chunks,
    chunk_context,
    chunk_identity,
    embedded_text,
)
from indexer.documents import ExtractedDocument, Modality, TextPart
from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder
from indexer.encoders.settings import EncoderSettings
from indexer.extract import extract_document

FIXTURES = Path(__file__).parent / "fixtures" / "html"

SENTENCES = [
    "The watcher notices a changed file and publishes an event keyed by the document id.",
    "Because the key is the document id, every change to one document lands on the same partition.",
    "Ordering per document is therefore guaranteed without any coordination between workers.",
    "A worker extracts the text, cuts it into chunks and compares them with the stored manifest.",
    "Only chunks whose normalised text changed are sent to the encoder, which keeps costs low.",
    "Encoding is the expensive step, so skipping unchanged chunks matters more than anything else.",
    "Elasticsearch receives the new vectors in one bulk request, together with the deletions.",
    "When the broker restarts, the consumer group resumes from the last committed offset.",
    "Events that cannot be processed go to a dead-letter topic with the reason attached.",
    "Operators can replay the dead letters once the underlying problem has been fixed.",
    "Images are embedded with a model that places pictures and captions in one vector space.",
    "A query like red circle diagram can then find a figure even when no text mentions it.",
    "Freshness is measured from the moment a file is saved to the moment a search returns it.",
    "Most of that delay is the refresh interval of the index, not the pipeline itself.",
    "Small batches keep latency low, while larger batches make better use of the encoder.",
    "The trade-off is tuned with two settings: the batch size and the maximum wait.",
    "Retries use exponential backoff so that a struggling cluster is not overwhelmed.",
    "If the store stays unavailable, the worker stops without committing its offsets.",
    "Kafka then redelivers the same events to whichever worker takes over the partition.",
    "Idempotent writes make redelivery harmless: writing a chunk twice leaves one copy.",
    "Content-addressed identifiers are derived from the document id and the chunk's text.",
    "Whitespace changes alone do not alter an identifier, so reformatting is free.",
    "Each answer cites the chunks it used, with page numbers for documents that have pages.",
    "The web page streams the answer token by token while the citations load beside it.",
    "Access control lists travel with every chunk and are applied as filters at query time.",
    "Nothing in the query path needs to know how the chunks were produced.",
]


def paragraph(rng: random.Random) -> str:
    """A realistic paragraph of 60 to 120 words drawn from the sentence bank."""
    while True:
        sentences = rng.sample(SENTENCES, rng.randint(4, 8))
        text = " ".join(sentences)
        if 60 <= len(text.split()) <= 120:
            return text


def markdown_document(rng: random.Random, paragraphs: int = 50) -> list[str]:
    blocks: list[str] = ["# Streaming indexing handbook"]
    for index in range(paragraphs):
        if index % 10 == 0:
            blocks.append(f"## Chapter {index // 10 + 1}")
        blocks.append(paragraph(rng))
    return blocks


def chunk_markdown(blocks: list[str]) -> list[TextChunkDraft]:
    """Chunks of the Markdown document made of ``blocks``, with the default sizes."""
    document = extract_document("\n\n".join(blocks).encode(), "text/markdown")
    return chunk_text_parts(document.text_parts)


def changed(before: list[TextChunkDraft], after: list[TextChunkDraft]) -> tuple[int, int]:
    old = {normalise_for_identity(chunk.text) for chunk in before}
    new = {normalise_for_identity(chunk.text) for chunk in after}
    return len(new - old), len(old - new)


def paragraph_index(blocks: list[str], wanted: int) -> int:
    """The index in ``blocks`` of the ``wanted``-th body paragraph (headings skipped)."""
    body = [index for index, block in enumerate(blocks) if not block.startswith("#")]
    return body[wanted]


# --- the acceptance criterion ---------------------------------------------------------


def edit_words(text: str) -> str:
    words = text.split(" ")
    words[len(words) // 2] = "substantially"
    words[3] = "rewritten"
    return " ".join(words)


def edit_add_sentence(text: str) -> str:
    return text + " An extra sentence now explains the change in a little more detail."


def edit_drop_first_sentence(text: str) -> str:
    return text.split(". ", 1)[1]


@pytest.mark.parametrize("edit", [edit_words, edit_add_sentence, edit_drop_first_sentence])
@pytest.mark.parametrize(("seed", "position"), [(1, 25), (2, 24), (3, 20), (4, 31), (5, 10)])
def test_editing_one_middle_paragraph_changes_at_most_two_chunks(
    edit: Callable[[str], str], seed: int, position: int
) -> None:
    rng = random.Random(seed)
    blocks = markdown_document(rng)
    before = chunk_markdown(blocks)
    assert len(before) >= 40  # realistic paragraphs: about one chunk each
    edited = list(blocks)
    index = paragraph_index(blocks, position)
    edited[index] = edit(blocks[index])
    after = chunk_markdown(edited)
    added, removed = changed(before, after)
    assert added <= 2, f"{added} new chunks"
    assert removed <= 2, f"{removed} chunks gone"
    assert added >= 1  # the edit is seen


def test_inserting_or_deleting_a_paragraph_is_local() -> None:
    rng = random.Random(7)
    blocks = markdown_document(rng)
    before = chunk_markdown(blocks)
    index = paragraph_index(blocks, 25)
    inserted = [*blocks[:index], paragraph(random.Random(99)), *blocks[index:]]
    assert max(changed(before, chunk_markdown(inserted))) <= 2
    deleted = blocks[:index] + blocks[index + 1 :]
    assert max(changed(before, chunk_markdown(deleted))) <= 2


def test_whitespace_only_edit_changes_no_normalised_chunk() -> None:
    rng = random.Random(11)
    blocks = markdown_document(rng)
    index = paragraph_index(blocks, 20)
    rewrapped = list(blocks)
    rewrapped[index] = re.sub(r"(\w+) (\w+) ", r"\1\n\2  ", blocks[index], count=5)
    assert changed(chunk_markdown(blocks), chunk_markdown(rewrapped)) == (0, 0)


def test_edit_inside_a_long_paragraph_resynchronises() -> None:
    rng = random.Random(5)
    sentences = [paragraph(rng) for _ in range(12)]
    long_paragraph = " ".join(sentences)  # about 1000 words in one paragraph
    before = chunk_text_parts([TextPart(long_paragraph)])
    assert len(before) >= 6
    edited = long_paragraph.replace(sentences[0], edit_add_sentence(sentences[0]), 1)
    added, _ = changed(before, chunk_text_parts([TextPart(edited)]))
    assert added < len(before) - 1  # the chunks far after the edit are unchanged


# --- exact spans and bounds -----------------------------------------------------------

WORDS = [
    "word",
    "Wort",
    "naïve",
    "東京",
    "😀",
    "e\u0301",
    "x" * 40,
    "3.14",
    "mid-sentence",
    "Ωμέγα",
]
MARKS = [".", "!", "?", ",", "…", "。"]
SPACES = [" ", " ", " ", "\n", "\n\n", "\n \n", "\t", "\r\n", "\u00a0"]
ALPHABET = [*WORDS, *MARKS, *SPACES]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 600)))


def random_document(rng: random.Random) -> ExtractedDocument:
    parts: list[TextPart] = []
    offset = 0
    for index in range(rng.randint(1, 4)):
        text = random_text(rng)
        if parts:
            offset += 2
        parts.append(TextPart(text=text, char_start=offset, page=index + 1, section=f"s{index}"))
        offset += len(text)
    return ExtractedDocument(title=None, text_parts=tuple(parts))


@pytest.mark.parametrize("seed", range(60))
def test_chunks_are_exact_bounded_slices_within_their_part(seed: int) -> None:
    rng = random.Random(seed)
    document = random_document(rng)
    max_tokens = rng.choice([8, 20, 50, 200])
    overlap = rng.choice([0, max_tokens // 5, max_tokens // 2])
    chunks = chunk_text_parts(document.text_parts, max_tokens=max_tokens, overlap_tokens=overlap)
    full = document.full_text
    for order, chunk in enumerate(chunks):
        assert chunk.order == order
        assert chunk.text == full[chunk.char_start : chunk.char_end]
        assert chunk.text.strip()
        assert chunk.text == chunk.text.strip()
        assert approximate_token_count(chunk.text) <= max_tokens
        (part,) = [
            part
            for part in document.text_parts
            if part.char_start <= chunk.char_start
            and chunk.char_end <= part.char_start + len(part.text)
        ]
        assert (chunk.page, chunk.section) == (part.page, part.section)
    covered = "".join(chunk.text for chunk in chunks)
    for part in document.text_parts:  # every non-space character is in some chunk
        assert sum(not c.isspace() for c in part.text) <= sum(not c.isspace() for c in covered)


def test_small_paragraphs_stay_whole_and_chunks_end_at_paragraph_ends() -> None:
    paragraphs = [paragraph(random.Random(seed)) for seed in range(6)]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text_parts([TextPart(text)])
    assert len(chunks) == len(paragraphs)
    for chunk, expected in zip(chunks, paragraphs, strict=True):
        assert chunk.text.endswith(expected)


def test_long_paragraph_splits_on_sentence_boundaries() -> None:
    text = " ".join(SENTENCES * 3)
    chunks = chunk_text_parts([TextPart(text)], max_tokens=60, overlap_tokens=0)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text.endswith(".")
        assert chunk.text[0].isupper()


def test_hard_wrapped_prose_is_not_cut_at_line_ends() -> None:
    text = " ".join(SENTENCES * 2)
    wrapped = "\n".join(re.findall(r".{1,70}(?:\s|$)", text)).replace(" \n", "\n")
    assert wrapped.count("\n") > 50
    for chunk in chunk_text_parts([TextPart(wrapped)], max_tokens=60, overlap_tokens=10):
        assert chunk.text.endswith(".")


def test_list_items_are_split_points_in_a_long_list() -> None:
    items = "\n".join(
        f"- item {index} describes one more setting of the worker" for index in range(60)
    )
    chunks = chunk_text_parts([TextPart(items)], max_tokens=50, overlap_tokens=0)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text.startswith("- item ")
        assert chunk.text.endswith("worker")


def test_overlong_sentence_splits_on_whitespace() -> None:
    text = " ".join(f"token{index}" for index in range(300))
    chunks = chunk_text_parts([TextPart(text)], max_tokens=50, overlap_tokens=0)
    assert len(chunks) > 3
    assert " ".join(chunk.text for chunk in chunks) == text


def test_giant_token_is_hard_split() -> None:
    blob = "QUJD" * 2500  # 10,000 characters without whitespace
    chunks = chunk_text_parts([TextPart(f"Before.\n\n{blob}\n\nAfter.")], overlap_tokens=0)
    assert "".join(chunk.text for chunk in chunks if "QUJD" in chunk.text).count("QUJD") >= 2499
    assert all(approximate_token_count(chunk.text) <= 200 for chunk in chunks)


def test_overlap_is_trailing_sentences_of_the_previous_chunk() -> None:
    text = " ".join(SENTENCES)
    chunks = chunk_text_parts([TextPart(text)], max_tokens=80, overlap_tokens=30)
    for previous, current in itertools.pairwise(chunks):
        assert current.char_start < previous.char_end  # they overlap …
        assert current.char_start > previous.char_start  # … but not by the whole chunk
        shared = previous.text[current.char_start - previous.char_start :]
        assert current.text.startswith(shared)
        assert approximate_token_count(shared) <= 30
        assert shared[0].isupper()  # starts at a sentence


def test_no_overlap_when_disabled() -> None:
    text = " ".join(SENTENCES)
    chunks = chunk_text_parts([TextPart(text)], max_tokens=80, overlap_tokens=0)
    for previous, current in itertools.pairwise(chunks):
        assert current.char_start >= previous.char_end


def test_never_crosses_parts_and_keeps_page_and_section() -> None:
    parts = (
        TextPart("Page one text.", char_start=0, page=1),
        TextPart("Page two text.", char_start=16, page=2, section="Intro"),
    )
    chunks = chunk_text_parts(parts)
    assert [(chunk.text, chunk.page, chunk.section) for chunk in chunks] == [
        ("Page one text.", 1, None),
        ("Page two text.", 2, "Intro"),
    ]
    assert [(chunk.char_start, chunk.char_end) for chunk in chunks] == [(0, 14), (16, 30)]


def test_whitespace_only_and_empty_inputs_give_no_chunks() -> None:
    assert chunk_text_parts([]) == []
    assert chunk_text_parts([TextPart("  \n\n\t "), TextPart("")]) == []


def count_words(text: str) -> int:
    return len(text.split())


def test_custom_token_counter_is_respected() -> None:
    text = " ".join(SENTENCES)
    chunks = chunk_text_parts(
        [TextPart(text)], max_tokens=40, overlap_tokens=8, count_tokens=count_words
    )
    assert len(chunks) > 10
    assert all(count_words(chunk.text) <= 40 for chunk in chunks)
    assert any(count_words(chunk.text) > 20 for chunk in chunks)


def test_a_counter_that_is_not_subadditive_still_bounds_chunks() -> None:
    text = " ".join(SENTENCES)
    chunks = chunk_text_parts([TextPart(text)], max_tokens=120, overlap_tokens=40, count_tokens=len)
    assert all(len(chunk.text) <= 120 for chunk in chunks if " " not in chunk.text[:1])


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_invalid_sizes_are_rejected(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="tokens"):
        chunk_text_parts([TextPart("x")], max_tokens=max_tokens, overlap_tokens=overlap)


# --- token estimate and identity ------------------------------------------------------


def test_approximate_token_count_basics() -> None:
    assert approximate_token_count("") == 0
    assert approximate_token_count("hello world") == 2
    assert approximate_token_count("hello, world!") == 4
    assert approximate_token_count("東京タワー") == 5
    assert approximate_token_count("internationalisation") > approximate_token_count("nation")
    assert approximate_token_count("2024") == 2


def test_approximate_token_count_tracks_english_prose() -> None:
    text = " ".join(SENTENCES)
    ratio = approximate_token_count(text) / len(text.split())
    assert 1.1 <= ratio <= 1.6  # WordPiece gives about 1.2-1.4 tokens per English word


def test_normalised_identity_ignores_whitespace_but_not_words() -> None:
    original = "Kafka keys events\nby document id.  "
    assert normalise_for_identity(original) == "Kafka keys events by document id."
    assert normalise_for_identity("  Kafka\tkeys   events by\r\n\ndocument\u00a0id.") == (
        normalise_for_identity(original)
    )
    assert normalise_for_identity("Kafka keys events by chunk id.") != normalise_for_identity(
        original
    )
    assert normalise_for_identity("cafe\u0301") == normalise_for_identity("café")


# --- contextual chunks and token-exact sizing -------------------------------------------


class WordCounter:
    """A token counter where a token is a whitespace-separated word (pure tests)."""

    tokenizer_name = "words"
    max_input_tokens = 60

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_chunk_context_does_not_repeat_a_heading_that_is_the_title() -> None:
    count = WordCounter().count_tokens
    assert chunk_context("Joins", "2.6. Joins > Outer joins", count, 48) == "Joins > Outer joins"
    assert chunk_context("Guide", "Install > Linux", count, 48) == "Guide > Install > Linux"
    assert chunk_context("Joins", "SQL > 2.6. Joins > Outer", count, 48) == "SQL > Joins > Outer"
    assert chunk_context(None, "Install", count, 48) == "Install"
    assert chunk_context("Guide", None, count, 48) == "Guide"
    assert chunk_context(None, None, count, 48) == ""


def test_chunk_context_over_budget_drops_middle_headings_then_words() -> None:
    count = WordCounter().count_tokens
    context = chunk_context("A long title", "one two > three > four five", count, 6)
    assert context == "A long title > four five"
    assert chunk_context("w " * 20, None, count, 5) == "w w w w w"


def test_embedded_text_is_context_then_text_and_stored_text_is_the_slice() -> None:
    document = extract_document(
        b"<title>Joins | Docs</title><h1>Joins</h1><p>Intro.</p><h2>Outer</h2><p>Left rows.</p>",
        "text/html",
    )
    chunks = build_chunks("d", document, ChunkingOptions(tokenizer=WordCounter()))
    assert [embedded_text(chunk) for chunk in chunks] == [
        "Joins\n\nJoins\n\nIntro.",
        "Joins > Outer\n\nOuter\n\nLeft rows.",
    ]
    full = document.full_text
    for chunk in chunks:
        position = chunk.position
        assert chunk.text == full[position.char_start : position.char_end]


def test_chunk_ids_follow_the_context_that_was_embedded() -> None:
    document = ExtractedDocument(title="T", text_parts=(TextPart("Same text.", section="S"),))
    options = ChunkingOptions()
    [first] = build_chunks("d", document, options, "Title one")
    [again] = build_chunks("d", document, options, "Title one")
    [renamed] = build_chunks("d", document, options, "Title two")
    assert first.chunk_id == again.chunk_id
    assert renamed.chunk_id != first.chunk_id  # the old vector embedded the old title
    bare = ExtractedDocument(title=None, text_parts=(TextPart("Same text."),))
    [plain] = build_chunks("d", bare, options)
    assert plain.chunk_id == chunk_identity("d", Modality.TEXT, "Same text.", 0)


def test_chunk_size_is_capped_by_the_window_minus_the_context_budget() -> None:
    options = ChunkingOptions(max_tokens=200, overlap_tokens=40, tokenizer=WordCounter())
    assert options.chunk_tokens == 60 - 48
    assert options.chunk_overlap == 3
    assert ChunkingOptions(max_tokens=200).chunk_tokens == 200
    assert "words" in options.version
    assert options.version != ChunkingOptions().version


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2", EncoderSettings())


def test_no_embedded_text_exceeds_the_minilm_window(minilm: SentenceTransformerEmbedder) -> None:
    """Real pages (the HTML fixtures), a long title, and text that tokenises badly."""
    assert minilm.max_input_tokens == 254  # 256 less [CLS] and [SEP]
    hostile = " ".join(
        ["x" * 300, "ünïcödé " * 80, "2024-11-30T12:00:00Z " * 60, "a.b.c/d?e=f " * 90]
    )
    documents = [
        extract_document(path.read_bytes(), "text/html", name=path.name)
        for path in sorted(FIXTURES.glob("*.html"))
    ]
    documents.append(
        ExtractedDocument(title="T", text_parts=(TextPart(hostile, section="A > B > C"),))
    )
    options = ChunkingOptions(max_tokens=400, overlap_tokens=40, tokenizer=minilm)
    assert options.chunk_tokens == 254 - 48
    long_title = "A very long page title that goes on " * 10
    total = 0
    for document in documents:
        for chunk in build_chunks("d", document, options, long_title):
            tokens = minilm.count_tokens(embedded_text(chunk))
            assert tokens <= minilm.max_input_tokens, embedded_text(chunk)[:200]
            assert minilm.count_tokens(chunk.text) <= options.chunk_tokens
            total += 1
    assert total > 20
