"""Is a generated answer one a user can trust? (pure)

A generated answer is shown only when it cites at least one passage of its prompt, says
something (a few words besides its markers) and does not loop. Anything else is replaced
by the extractive answer, and the response says why (``FallbackReason``).

Repetition is found in the text itself, so it works for every LLM: a sentence that says
again what an earlier one said (compared without case, punctuation or citation markers),
or any run of ``ngram_words`` words written a second time (a loop inside one long line).
The generation is stopped there, and the answer is cut where the repetition starts.
"""

from __future__ import annotations

import re
from collections.abc import Set

from query_api.generation.base import FallbackReason
from query_api.generation.citations import MARKER, parse_citations
from query_api.generation.prompt import sentence_ends

NGRAM_WORDS = 8
"""Eight words written twice in one answer is a loop, not style."""
MIN_ANSWER_WORDS = 3
_WORD = re.compile(r"\w+", re.UNICODE)


def _words_with_offsets(text: str) -> list[tuple[int, str]]:
    """Each word's offset and lowercased form; the numbers inside citation markers are
    not words."""
    markers = [match.span() for match in MARKER.finditer(text)]
    return [
        (match.start(), match.group(0).lower())
        for match in _WORD.finditer(text)
        if not any(start <= match.start() < end for start, end in markers)
    ]


def _normalised_words(text: str) -> list[str]:
    return [word for _, word in _words_with_offsets(text)]


def _repeated_sentence(text: str) -> int | None:
    """The offset of the first complete sentence whose words an earlier one had."""
    seen: set[tuple[str, ...]] = set()
    start = 0
    for end in sentence_ends(text + " "):  # a sentence ending the text is complete too
        words = tuple(_normalised_words(text[start:end]))
        if words in seen:
            return start + len(text[start:end]) - len(text[start:end].lstrip())
        if words:
            seen.add(words)
        start = end
    return None


def _repeated_ngram(text: str, ngram_words: int) -> int | None:
    """The offset of the first run of ``ngram_words`` words written a second time."""
    words = _words_with_offsets(text)
    seen: set[tuple[str, ...]] = set()
    for index in range(len(words) - ngram_words + 1):
        gram = tuple(word for _, word in words[index : index + ngram_words])
        if gram in seen:
            return words[index][0]
        seen.add(gram)
    return None


def repetition_start(text: str, *, ngram_words: int = NGRAM_WORDS) -> int | None:
    """Where ``text`` starts repeating itself (the offset of the repeated sentence, or of
    the second occurrence of a repeated word run), or None."""
    found = [
        offset
        for offset in (_repeated_sentence(text), _repeated_ngram(text, ngram_words))
        if offset is not None
    ]
    return min(found) if found else None


def fallback_reason(
    answer: str, allowed: Set[int], *, min_words: int = MIN_ANSWER_WORDS
) -> FallbackReason | None:
    """Why a finished generated ``answer`` must not be shown, or None when it may."""
    if len(_normalised_words(answer)) < min_words:
        return "too_short"
    if not parse_citations(answer, allowed):
        return "no_citations"
    return None
