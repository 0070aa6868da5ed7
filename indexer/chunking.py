"""Text parts → bounded, overlapping chunks whose boundaries survive edits (pure).

How a part is cut:

1. **Paragraphs** (runs separated by blank lines) are the anchors. Each paragraph that is
   not small stands in a block of its own; small paragraphs (under a quarter of
   ``max_tokens``: headings, list lead-ins, one-liners) are glued to their neighbours.
   A block's boundaries depend only on the paragraphs on either side of it, never on
   where an earlier chunk happened to end, so editing one paragraph cannot shift the
   boundaries of the rest of the document.
2. A paragraph over ``max_tokens`` is split into **sentences**, a sentence over it on
   **whitespace**, a single giant token (a URL, base64) by **characters**.
3. Each block's pieces are **packed** greedily up to ``max_tokens - overlap_tokens``, so
   that the overlap fits (a paragraph that fits ``max_tokens`` still stays whole). Inside
   a long block a piece whose content hash is an *anchor* (one in four, content-defined
   as in rsync) also starts a new chunk once the current one is half full, so an edit
   early in a long list or paragraph re-synchronises at the next anchor instead of
   shifting every later chunk of the block.
4. **Overlap** is added last: a chunk starts with the trailing sentences (or pieces) of
   the previous chunk's own text, worth at most ``overlap_tokens`` and at most what fits
   under ``max_tokens``, never all of it. Since packing ignores overlap, the overlap
   cannot cascade either: an edit changes its chunk and at most the next one's overlap.

Chunks never cross a text part (page or section) and are exact slices of the document's
text: ``text == full_text[char_start:char_end]``.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from indexer.documents import TextPart

TokenCounter = Callable[[str], int]

_LATIN_RUN = r"[A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+"
_PIECES = re.compile(rf"({_LATIN_RUN})|(\d+)|[^\w\s]|_|\w")
_WHITESPACE = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(
    r"""[.!?…]+["'”’)\]]*(?=\s)"""  # end punctuation (and closing quotes) before a space
    r"|[。！？]+[」』”’)\]]*"  # CJK full stops need no space
    r"|\n(?=[ \t]*(?:[-*+•]\s|\d{1,3}[.)]\s|[>|#]))"  # a line break before a list item …
)
"""Where sentences end. A bare line break is not one (hard-wrapped prose would be cut
mid-sentence), except before a list item, quote, table row or heading."""
_WORD = re.compile(r"\S+")
_ANCHOR_ONE_IN = 4


def approximate_token_count(text: str) -> int:
    """Estimate WordPiece/BPE tokens without a tokenizer (fast, regex only).

    A run of Latin letters counts one token up to five letters, plus one per further five
    (long and rare words split into pieces); digits one per three; any other letter (CJK,
    Cyrillic, Greek …) and each punctuation mark one. Against all-MiniLM-L6-v2's WordPiece
    on English prose (licences, manuals, this project's design notes) the estimate is
    0.97-1.14x the true count per corpus (0.8-1.3x per paragraph): close enough to size
    chunks, erring on the safe side for legal prose. An English vocabulary splits
    non-Latin scripts into single letters, hence one each. The estimate is subadditive
    (the count of a text is at most the sum of its pieces' counts), which chunking relies
    on to bound a chunk by the sum of its pieces. Pass a real tokenizer's counter to
    ``chunk_text_parts`` when exact counts matter.
    """
    total = 0.0
    for match in _PIECES.finditer(text):
        latin, digits = match.group(1), match.group(2)
        if latin is not None:
            total += 1 + max(0, len(latin) - 5) / 5
        elif digits is not None:
            total += 1 + (len(digits) - 1) // 3
        else:
            total += 1
    return math.ceil(total)


def normalise_for_identity(text: str) -> str:
    """The text as identity sees it: NFC, whitespace runs as one space, stripped.

    Content-addressed chunk ids hash this, so re-wrapping lines or changing indentation
    keeps a chunk's id (and its embedding) while changing a word does not.
    """
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


@dataclass(frozen=True)
class TextChunkDraft:
    """A chunk before it has an id or an embedding: its text and where it came from."""

    text: str
    char_start: int
    """Offset of ``text`` in the document's full text (``ExtractedDocument.full_text``)."""
    char_end: int
    page: int | None
    section: str | None
    order: int
    """Position among the document's text chunks, from 0."""


@dataclass(frozen=True)
class _Piece:
    """A span of a part's text (trimmed, never empty) that packing does not split."""

    start: int
    end: int
    tokens: int
    whole_paragraph: bool


def _spans(
    text: str, separator: re.Pattern[str], start: int, end: int
) -> Iterator[tuple[int, int]]:
    """Trimmed non-empty spans of ``text[start:end]`` between matches of ``separator``."""
    cursor = start
    for match in separator.finditer(text, start, end):
        yield from _trimmed(text, cursor, match.end() if match.group().strip() else match.start())
        cursor = match.end()
    yield from _trimmed(text, cursor, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _word_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    for match in _WORD.finditer(text, start, end):
        yield match.start(), match.end()


class _Splitter:
    """Splits a part's text into pieces of at most ``max_tokens``."""

    def __init__(self, text: str, max_tokens: int, count: TokenCounter) -> None:
        self.text, self.max_tokens, self.count = text, max_tokens, count

    def paragraphs(self) -> list[list[_Piece]]:
        """Each paragraph as its pieces: itself if it fits, else its sentences, words …"""
        result: list[list[_Piece]] = []
        for start, end in _spans(self.text, _BLANK_LINE, 0, len(self.text)):
            tokens = self.count(self.text[start:end])
            if tokens <= self.max_tokens:
                result.append([_Piece(start, end, tokens, whole_paragraph=True)])
            else:
                result.append(list(self._split(start, end, level=0)))
        return result

    def _split(self, start: int, end: int, level: int) -> Iterator[_Piece]:
        if level == 0:
            spans: Iterator[tuple[int, int]] = _spans(self.text, _SENTENCE_END, start, end)
        elif level == 1:
            spans = _word_spans(self.text, start, end)
        else:
            yield from self._hard_split(start, end)
            return
        for span_start, span_end in spans:
            tokens = self.count(self.text[span_start:span_end])
            if tokens <= self.max_tokens or span_end - span_start <= 1:
                yield _Piece(span_start, span_end, tokens, whole_paragraph=False)
            else:
                yield from self._split(span_start, span_end, level + 1)

    def _hard_split(self, start: int, end: int) -> Iterator[_Piece]:
        """Cut a token too long for one chunk into the longest slices that fit.

        Each slice is sized from a bounded window, so a megabyte of base64 costs linear
        time, not a count of the whole remainder per slice.
        """
        while start < end:
            size = min(end - start, 16 * self.max_tokens)
            tokens = self.count(self.text[start : start + size])
            while size > 1 and tokens > self.max_tokens:
                size = max(1, min(size - 1, size * self.max_tokens // tokens))
                tokens = self.count(self.text[start : start + size])
            yield _Piece(start, start + size, tokens, whole_paragraph=False)
            start += size


def _blocks(paragraphs: list[list[_Piece]], small: int) -> list[list[_Piece]]:
    """Runs of paragraphs packed together: a small paragraph is glued to its neighbours."""
    blocks: list[list[_Piece]] = []
    previous_small = False
    for pieces in paragraphs:
        is_small = len(pieces) == 1 and pieces[0].tokens < small
        if blocks and (is_small or previous_small):
            blocks[-1].extend(pieces)
        else:
            blocks.append(list(pieces))
        previous_small = is_small
    return blocks


def _is_anchor(text: str) -> bool:
    digest = zlib.crc32(normalise_for_identity(text).encode("utf-8"))
    return digest % _ANCHOR_ONE_IN == 0


def _pack(
    text: str, block: list[_Piece], capacity: int, max_tokens: int, small: int
) -> list[list[_Piece]]:
    """Greedy packing up to ``capacity``, cutting early at content-defined anchors.

    A single piece over ``capacity`` (a whole paragraph that fits ``max_tokens``) makes a
    group of its own, and small paragraphs (a heading) join the next piece up to
    ``max_tokens`` rather than stand alone as a crumb.
    """
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    filled = 0
    only_small = True
    for piece in block:
        total = filled + piece.tokens
        full = total > capacity and not (only_small and total <= max_tokens)
        anchored = filled >= capacity // 2 and _is_anchor(text[piece.start : piece.end])
        if current and (full or anchored):
            groups.append(current)
            current, filled, only_small = [], 0, True
        current.append(piece)
        filled += piece.tokens
        only_small = only_small and piece.whole_paragraph and piece.tokens < small
    if current:
        tail = sum(piece.tokens for piece in current)
        if groups and tail < capacity // 4 and tail + _tokens(groups[-1]) <= capacity:
            groups[-1].extend(current)  # no crumb at the end of a block
        else:
            groups.append(current)
    return groups


def _tokens(group: Sequence[_Piece]) -> int:
    return sum(piece.tokens for piece in group)


def _overlap_start(
    splitter: _Splitter, previous: list[_Piece], budget: int, count: TokenCounter
) -> int | None:
    """Where the overlap taken from ``previous`` starts: its trailing sentences (or pieces)
    worth at most ``budget`` tokens, never all of it; None when nothing fits."""
    units: list[tuple[int, int]] = []
    for piece in previous:
        if piece.whole_paragraph:
            units.extend(_spans(splitter.text, _SENTENCE_END, piece.start, piece.end))
        else:
            units.append((piece.start, piece.end))
    start, used = None, 0
    for unit_start, unit_end in reversed(units[1:]):
        used += count(splitter.text[unit_start:unit_end])
        if used > budget:
            break
        start = unit_start
    return start


def chunk_text_parts(
    parts: Sequence[TextPart],
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 40,
    count_tokens: TokenCounter = approximate_token_count,
) -> list[TextChunkDraft]:
    """Cut text parts into chunks of at most about ``max_tokens`` (see the module doc)."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError("overlap_tokens must be at least 0 and below max_tokens")
    chunks: list[TextChunkDraft] = []
    small = max_tokens // 4
    for part in parts:
        splitter = _Splitter(part.text, max_tokens, count_tokens)
        groups = [
            group
            for block in _blocks(splitter.paragraphs(), small)
            for group in _pack(part.text, block, max_tokens - overlap_tokens, max_tokens, small)
        ]
        for index, group in enumerate(groups):
            start, end = group[0].start, group[-1].end
            budget = min(overlap_tokens, max_tokens - _tokens(group))
            if index > 0 and budget > 0:
                overlap = _overlap_start(splitter, groups[index - 1], budget, count_tokens)
                if overlap is not None and count_tokens(part.text[overlap:end]) <= max_tokens:
                    start = overlap  # (a counter that is not subadditive could overshoot)
            text = part.text[start:end]
            if not text.strip():
                continue
            chunks.append(
                TextChunkDraft(
                    text=text,
                    char_start=part.char_start + start,
                    char_end=part.char_start + end,
                    page=part.page,
                    section=part.section,
                    order=len(chunks),
                )
            )
    return chunks
