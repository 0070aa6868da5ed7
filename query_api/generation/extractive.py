"""The extractive answer (pure): the best passages of the distinct top documents, each
trimmed to the sentences nearest the question and followed by its citation.

The honest fallback when no LLM is configured, when it fails, or when its answer cannot
be trusted: the user gets the retrieved evidence itself, labelled as such (the lead-in
says why there is no generated answer), rather than an unsourced claim. Its citations
are exactly the passages shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from query_api.generation.base import FallbackReason, Passage
from query_api.generation.relevance import nearest_sentences

LEAD_INS: dict[FallbackReason, str] = {
    "no_llm": "No language model is configured",
    "no_passages": "Nothing was retrieved for this question",
    "llm_failed": "The language model failed",
    "timeout": "The language model did not answer in time",
    "repetition": "The language model's answer repeated itself",
    "no_citations": "The language model's answer cited no retrieved source",
    "too_short": "The language model gave no usable answer",
}
MAX_WORDS = 60
"""Words shown of one passage (about two sentences)."""


@dataclass(frozen=True)
class ExtractiveAnswer:
    pieces: tuple[str, ...]
    """The answer's text in pieces (the lead-in, then one line per passage) to stream."""
    numbers: tuple[int, ...]
    """The passages shown, in order: the answer's citations."""

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def distinct_documents(
    passages: Sequence[Passage], count: int, *, fill: bool = False
) -> list[Passage]:
    """Up to ``count`` passages: the best one of each document (in the given order);
    with ``fill``, then further passages of those documents when there are fewer
    documents than ``count``."""
    best: dict[str, Passage] = {}
    for passage in passages:
        best.setdefault(passage.doc_id, passage)
    rest = [passage for passage in passages if best[passage.doc_id] is not passage]
    return [*best.values(), *(rest if fill else ())][:count]


def _describe(passage: Passage, question: str) -> str:
    text = nearest_sentences(passage.text, question, max_words=MAX_WORDS)
    if passage.modality == "image":
        return f"Image: {text or passage.title or passage.uri}"
    return text or passage.title or passage.uri


def extractive_answer(
    passages: Sequence[Passage],
    question: str,
    *,
    reason: FallbackReason = "no_llm",
    max_passages: int = 3,
) -> ExtractiveAnswer:
    """``"<why>; the most relevant passages are:"`` then, one line each, the best passage
    of each of the first ``max_passages`` documents, trimmed to its sentences nearest
    ``question``, each followed by ``[n]``."""
    lead_in = LEAD_INS[reason]
    shown = distinct_documents(passages, max_passages)
    if not shown:
        return ExtractiveAnswer(pieces=(f"{lead_in}, and no passages were found.",), numbers=())
    pieces = [f"{lead_in}; the most relevant passages are:"]
    pieces.extend(f"\n- {_describe(passage, question)} [{passage.number}]" for passage in shown)
    return ExtractiveAnswer(pieces=tuple(pieces), numbers=tuple(p.number for p in shown))
