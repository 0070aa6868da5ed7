"""The extractive answer (pure): the best passages, trimmed, each with its citation.

The honest fallback when no LLM is configured, when it fails, or when its answer cites
nothing: the user gets the retrieved evidence itself, labelled as such, rather than an
unsourced claim. Its citations are exactly the passages shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from query_api.generation.base import Passage
from query_api.generation.citations import remove_citation_markers
from query_api.generation.prompt import sentence_ends

NO_LLM_REASON = "No language model is configured"
NO_CITATION_REASON = "The model's answer cited no source"
EMPTY_ANSWER_REASON = "The language model returned an empty answer"
MAX_WORDS = 80
"""A passage without sentence punctuation (OCR, tables) is cut to this many words."""


def unavailable_reason(error: BaseException) -> str:
    return f"The language model is unavailable ({error})"


@dataclass(frozen=True)
class ExtractiveAnswer:
    pieces: tuple[str, ...]
    """The answer's text in pieces (the lead-in, then one line per passage) to stream."""
    numbers: tuple[int, ...]
    """The passages shown, in order: the answer's citations."""

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def lead(text: str, max_sentences: int = 2, max_words: int = MAX_WORDS) -> str:
    """The first sentences of ``text`` on one line, its own citation markers removed (they
    number another document's references, not our passages); ``…`` marks a cut."""
    ends = sentence_ends(text)
    cut = len(ends) >= max_sentences and ends[max_sentences - 1] < len(text.rstrip())
    kept = text[: ends[max_sentences - 1]] if cut else text
    words = remove_citation_markers(kept).split()
    if len(words) > max_words:
        words, cut = words[:max_words], True
    line = " ".join(words)
    return f"{line} …" if cut and line else line


def _describe(passage: Passage) -> str:
    text = lead(passage.text)
    if passage.modality == "image":
        return f"Image: {text or passage.title or passage.uri}"
    return text or passage.title or passage.uri


def extractive_answer(
    passages: Sequence[Passage], *, reason: str = NO_LLM_REASON, max_passages: int = 3
) -> ExtractiveAnswer:
    """``"<reason>; the most relevant passages are:"`` then, one line each, the first
    ``max_passages`` passages trimmed to about two sentences, each followed by ``[n]``."""
    shown = list(passages[:max_passages])
    if not shown:
        return ExtractiveAnswer(pieces=(f"{reason}, and no passages were found.",), numbers=())
    pieces = [f"{reason}; the most relevant passages are:"]
    pieces.extend(f"\n- {_describe(passage)} [{passage.number}]" for passage in shown)
    return ExtractiveAnswer(
        pieces=tuple(pieces), numbers=tuple(dict.fromkeys(p.number for p in shown))
    )
