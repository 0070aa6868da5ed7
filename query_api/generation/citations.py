"""Citation markers in answers: ``[1]``, ``[1, 2]``, ``[1][3]``, ``[2-4]``.

Pure functions over text, plus a streaming filter: an answer is sent token by token, so a
marker that cites a number outside the prompt's passages must be removed *before* it is
sent, which means holding back an open ``[`` until it closes (or turns out not to be one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;\-–]\s*\d+)*)\s*\]")
"""A citation marker: numbers separated by commas/semicolons, or a range ``a-b``."""
_MARKER_WITH_SPACE = re.compile(r"[ \t]*" + MARKER.pattern)
_OPEN_MARKER = re.compile(r"\[[\d\s,;\-–]*")
_MARKER_RUN_BEFORE = re.compile(r"(?:[ \t]*\[[\d\s,;\-–]+\])*[ \t]*$")
_MAX_OPEN_MARKER = 40
"""An unclosed ``[`` held back longer than this is not a citation marker."""
_MAX_RANGE = 20
"""``[1-300]`` is not a citation of 300 passages; ranges wider than this are ignored."""


def marker_numbers(inside: str) -> list[int]:
    """The numbers one marker's inside names, in written order (``"1, 3-4"`` → 1, 3, 4)."""
    numbers: list[int] = []
    for item in re.split(r"\s*[,;]\s*", inside.strip()):
        bounds = re.split(r"\s*[\-–]\s*", item)
        if len(bounds) == 1 and bounds[0].isdigit():
            numbers.append(int(bounds[0]))
        elif len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            low, high = int(bounds[0]), int(bounds[1])
            if low <= high and high - low <= _MAX_RANGE:
                numbers.extend(range(low, high + 1))
    return numbers


def parse_citations(answer: str, allowed: Set[int]) -> tuple[int, ...]:
    """The allowed passage numbers an answer cites, in first-cited order, each once.
    Numbers that are not allowed (not in the prompt) are ignored."""
    cited: dict[int, None] = {}
    for match in MARKER.finditer(answer):
        for number in marker_numbers(match.group(1)):
            if number in allowed:
                cited.setdefault(number, None)
    return tuple(cited)


def _dedupe(numbers: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(numbers))


def strip_unknown_citations(answer: str, allowed: Set[int]) -> str:
    """Remove numbers that are not allowed from every marker; a marker left empty goes,
    with the spaces before it. Markers citing only allowed numbers are kept as written."""

    def rewrite(match: re.Match[str]) -> str:
        numbers = marker_numbers(match.group(1))
        kept = _dedupe(number for number in numbers if number in allowed)
        if kept and len(kept) == len(numbers):
            return match.group(0)
        space = match.group(0)[: match.group(0).index("[")]
        if not kept:  # its spaces go too, unless another marker follows and needs them
            return space if match.string.startswith("[", match.end()) else ""
        return space + "[" + ", ".join(str(number) for number in kept) + "]"

    return _MARKER_WITH_SPACE.sub(rewrite, answer)


def remove_citation_markers(text: str) -> str:
    """Text without any citation markers (and the spaces before them)."""
    return _MARKER_WITH_SPACE.sub("", text)


class CitationStreamFilter:
    """Passes streamed text through ``strip_unknown_citations`` without ever sending part
    of a marker: text from an unclosed ``[`` that could still become a marker is held back
    until the next piece closes it (or shows it is something else), or until ``flush``."""

    def __init__(self, allowed: Set[int]) -> None:
        self._allowed = frozenset(allowed)
        self._pending = ""

    def feed(self, piece: str) -> str:
        """The text that can be sent now."""
        text = self._pending + piece
        start = len(text)
        opened = text.rfind("[")
        if (
            opened != -1
            and len(text) - opened <= _MAX_OPEN_MARKER
            and _OPEN_MARKER.fullmatch(text, opened)
        ):
            start = opened
        # Markers and spaces at the end are held too: whether a removed marker takes its
        # spaces along depends on what follows it.
        run = _MARKER_RUN_BEFORE.search(text, 0, start)
        if run is not None:
            start = run.start()
        ready, self._pending = text[:start], text[start:]
        return strip_unknown_citations(ready, self._allowed)

    def flush(self) -> str:
        """Whatever is still held back, once the stream has ended."""
        rest, self._pending = self._pending, ""
        return strip_unknown_citations(rest, self._allowed)
