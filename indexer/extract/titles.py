"""A page's title from its ``<title>`` and headings, without the site's decoration (pure).

Generators decorate ``<title>`` with the site: ``Installation — doc8 documentation``
(Sphinx), ``Getting started - MkDocs`` (MkDocs), ``PostgreSQL: Documentation: 15: 2.6.
Joins Between Tables`` (postgresql.org). The page's own heading is usually the
undecorated part, so:

1. a heading of the page (first ``<h1>``, then the other early headings) that the
   ``<title>`` contains is the title;
2. else the ``<title>`` cut at a site separator (`` — ``, `` – ``, `` | ``, `` · ``,
   `` - ``, ``::``), keeping its first segment;
3. else the first ``<h1>``;

and a leading section number (``2.6.``, ``F.1.``, ``Chapter 2.``, ``Part III.``) goes:
it is noise to both BM25 and the text encoder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from indexer.extract.common import clean_title, collapse_whitespace

_SEPARATORS = re.compile(r"\s+(?:—|–|\||·|-|::|»)\s+")
_NUMBERING = re.compile(
    r"^(?:(?:chapter|part|appendix|section)\s+)?"
    r"(?:[0-9]+|[A-Z]|[IVXLC]+)(?:\.[0-9]+)*\.\s+(?=\S)",
    re.IGNORECASE,
)
_PERMALINK_TAIL = re.compile(r"\s*[¶§#🔗]+\s*$")
_DECORATION = re.compile(r"^[\s:—–|·\-»]*$|^\s*[:—–|·\-»]|[:—–|·\-»]\s*$")


def strip_numbering(title: str) -> str:
    """``2.6. Joins Between Tables`` → ``Joins Between Tables`` (kept if nothing is left)."""
    match = _NUMBERING.match(title)
    return title[match.end() :] if match is not None else title


def clean_heading(text: str) -> str:
    """A heading's text without a trailing permalink mark (``Install ¶`` → ``Install``)."""
    return _PERMALINK_TAIL.sub("", collapse_whitespace(text))


def _decorates(title: str, heading: str) -> bool:
    """Whether ``title`` is ``heading`` plus a site prefix or suffix set off by a separator
    (so that a heading "Introduction" is not taken from "Introduction to Foo")."""
    if title.startswith(heading):
        rest = title[len(heading) :]
        return not rest.strip() or _DECORATION.match(rest[:3]) is not None
    if title.endswith(heading):
        rest = title[: len(title) - len(heading)]
        return _DECORATION.search(rest[-3:]) is not None
    return False


def choose_title(title_element: str | None, headings: Sequence[str]) -> str | None:
    """The page's title (see the module docstring); None when there is none."""
    title = clean_heading(title_element or "")
    cleaned = [clean_heading(heading) for heading in headings]
    candidates = [heading for heading in cleaned if heading]
    if title:
        folded = title.casefold()
        for heading in candidates:
            if _decorates(folded, heading.casefold()):
                return clean_title(strip_numbering(heading))
        segments = [segment for segment in _SEPARATORS.split(title) if segment.strip()]
        if segments:
            return clean_title(strip_numbering(segments[0]))
    if candidates:
        return clean_title(strip_numbering(candidates[0]))
    return None
