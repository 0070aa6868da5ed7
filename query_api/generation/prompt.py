"""The grounded, citation-numbered prompt, fitted to a token budget (pure).

Passages are taken in the order given (relevance order) and added whole while they fit.
The first one that does not fit is cut at a sentence boundary when at least
``min_partial_tokens`` of it fit, else dropped; either way no later (less relevant)
passage is added after it, so a short low-ranked passage never displaces a long top one.
A cut never falls inside a citation marker, and every passage keeps its number.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from query_api.generation.base import Passage
from query_api.generation.citations import parse_citations, strip_unknown_citations

__all__ = [
    "SYSTEM_PROMPT",
    "Prompt",
    "TokenCounter",
    "approximate_tokens",
    "build_prompt",
    "format_passage",
    "parse_citations",
    "sentence_ends",
    "strip_unknown_citations",
]

TokenCounter = Callable[[str], int]

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources you are given. "
    "Cite every claim with the number of its source in square brackets, like [1] or [2][3]. "
    "If the sources do not contain the answer, say that you don't know. "
    "Do not use any knowledge that is not in the sources."
)

TRUNCATION_MARK = " …"

_SENTENCE_END = re.compile(
    r"[.!?…][\"'”’)]*"  # the end of a sentence, with closing quotes or brackets
    r"(?:[ \t]*\[[\d\s,;\-–]+\])*"  # citation markers that belong to that sentence
    r"(?=\s)"
)


_BRACKET_REACH = 200
_ABBREVIATION = re.compile(r"(?:(?i:\b(?:e\.g|i\.e|cf|vs|approx|fig))|\b[A-Z])\.$")
"""A full stop that ends one of these (or a single capital, an initial) ends no sentence."""


def approximate_tokens(text: str) -> int:
    """About 1.3 tokens a word for English with common BPE vocabularies; no tokenizer."""
    return math.ceil(len(text.split()) * 1.3)


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    passages: tuple[Passage, ...]
    """The passages the prompt holds (a cut one with its cut text), in prompt order."""

    @property
    def numbers(self) -> frozenset[int]:
        """The passage numbers an answer may cite."""
        return frozenset(passage.number for passage in self.passages)


def sentence_ends(text: str) -> list[int]:
    """Offsets where ``text`` may be cut after a whole sentence (its citation markers
    included), never inside a ``[...]`` nor after an abbreviation such as "e.g."."""
    ends: list[int] = []
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        # Brackets are looked for nearby only, so that this stays linear in the text.
        start = max(0, end - _BRACKET_REACH)
        opened, closed = text.rfind("[", start, end), text.rfind("]", start, end)
        if opened > closed:  # the cut would fall inside a bracket
            continue
        if _ABBREVIATION.search(text, max(0, match.start() - 8), match.start() + 1):
            continue
        ends.append(end)
    return ends


def format_passage(passage: Passage) -> str:
    """``[n] (title, page p) text``; images as ``[n] (title) Image: describing text``."""
    origin = ", ".join(
        part
        for part in (passage.title, None if passage.page is None else f"page {passage.page}")
        if part
    )
    label = f"[{passage.number}]" + (f" ({origin})" if origin else "")
    text = " ".join(passage.text.split())
    if passage.modality == "image":
        text = f"Image: {text or '(no description)'}"
    return f"{label} {text}"


def _cut_to_fit(
    passage: Passage, budget: int, count_tokens: TokenCounter, min_partial_tokens: int
) -> Passage | None:
    """The passage cut after its last whole sentence that fits, or None when fewer than
    ``min_partial_tokens`` tokens of it would fit."""
    best: Passage | None = None
    for end in sentence_ends(passage.text):
        kept = passage.text[:end].rstrip()
        cut = dataclasses.replace(passage, text=kept + TRUNCATION_MARK)
        if count_tokens(format_passage(cut)) > budget:
            break
        if count_tokens(kept) >= min_partial_tokens:
            best = cut
    return best


def build_prompt(
    question: str,
    passages: Sequence[Passage],
    *,
    budget_tokens: int,
    count_tokens: TokenCounter = approximate_tokens,
    min_partial_tokens: int = 40,
) -> Prompt:
    """The (system, user) prompt for a grounded answer: the user message holds the numbered
    passages that fit ``budget_tokens``, then the question."""
    included: list[Passage] = []
    used = 0
    for passage in passages:
        cost = count_tokens(format_passage(passage))
        if used + cost <= budget_tokens:
            included.append(passage)
            used += cost
            continue
        cut = _cut_to_fit(passage, budget_tokens - used, count_tokens, min_partial_tokens)
        if cut is not None:
            included.append(cut)
        break
    sources = "\n\n".join(format_passage(passage) for passage in included)
    user = f"Sources:\n\n{sources}\n\nQuestion: {' '.join(question.split())}"
    return Prompt(system=SYSTEM_PROMPT, user=user, passages=tuple(included))
