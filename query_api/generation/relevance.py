"""Which sentences of a passage answer the question (pure).

A retrieved chunk is a window of a page: its best sentences for a question are often not
its first. Both the extractive answer and the LLM's prompt keep the sentences that share
the most question terms (weighted so that a term found in few of the passage's sentences
counts more), in their original order, with ``…`` where something was left out. A small
prompt is also what makes a CPU model answer in seconds: time to the first token grows
with the prompt's length.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from query_api.generation.citations import remove_citation_markers
from query_api.generation.prompt import sentence_ends

ELLIPSIS = "…"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*#)|(?<=\n)(?=[ \t]*[-*] )")
_HEADING_MARK = re.compile(r"^[ \t]*#{1,6}[ \t]+")
_STEM_LENGTH = 5
"""Terms are compared by their first five letters: "prints"/"printing", "capture"/"captures"."""
_STOPWORDS = """a about above after again all also an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further
    get got had has have having he her here hers how i if in into is it its itself just me
    more most my no nor not now of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through
    to too under until up use used using very was way we were what when where which while
    who whom why will with would you your"""
STOPWORDS = frozenset(_STOPWORDS.split())


def terms(text: str) -> list[str]:
    """The content words of ``text``, lowercased and cut to their stem length."""
    return [
        word[:_STEM_LENGTH]
        for word in (match.group(0).lower() for match in _WORD.finditer(text))
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit())
    ]


def split_sentences(text: str) -> list[str]:
    """``text``'s sentences (whitespace collapsed), cut where ``sentence_ends`` allows and
    at paragraph breaks (a heading line is a sentence of its own, without its ``#``)."""
    sentences: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = _HEADING_MARK.sub("", paragraph)
        start = 0
        for end in [*sentence_ends(paragraph), len(paragraph)]:
            sentence = " ".join(paragraph[start:end].split())
            if sentence:
                sentences.append(sentence)
            start = end
    return sentences


def _scores(sentences: Sequence[str], question: str) -> list[float]:
    wanted = set(terms(question))
    found = [set(terms(sentence)) & wanted for sentence in sentences]
    documents = len(sentences)
    frequency = {term: sum(term in these for these in found) for term in wanted}
    weight = {term: math.log(1 + documents / count) for term, count in frequency.items() if count}
    return [sum(weight[term] for term in these) for these in found]


def _words(text: str, max_words: int) -> tuple[str, bool]:
    words = text.split()
    if len(words) <= max_words:
        return text, False
    return " ".join(words[:max_words]), True


def nearest_sentences(
    text: str, question: str, *, max_sentences: int = 2, max_words: int = 80
) -> str:
    """Up to ``max_sentences`` sentences of ``text`` that share terms with ``question``,
    the nearest first, shown in their original order within ``max_words`` words, the
    source's own citation markers removed; ``…`` marks each gap and a cut end. With no
    question term in any sentence, its first sentences."""
    sentences = split_sentences(remove_citation_markers(text))
    if not sentences:
        return ""
    scores = _scores(sentences, question)
    matching = [index for index in range(len(sentences)) if scores[index] > 0]
    ranked = sorted(matching or range(len(sentences)), key=lambda index: (-scores[index], index))
    chosen: list[int] = []
    used = 0
    for index in ranked:
        if len(chosen) == max_sentences:
            break
        size = len(sentences[index].split())
        if chosen and used + size > max_words:
            continue
        chosen.append(index)
        used += size
    chosen.sort()
    pieces: list[str] = []
    previous = -1
    for index in chosen:
        if index != previous + 1:
            pieces.append(ELLIPSIS)
        sentence, cut = _words(sentences[index], max_words)
        pieces.append(sentence + (f" {ELLIPSIS}" if cut else ""))
        previous = index
    if previous != len(sentences) - 1 and not pieces[-1].endswith(ELLIPSIS):
        pieces.append(ELLIPSIS)
    return " ".join(pieces)
