"""Helpers shared by the extractors: sections to text parts, titles, image references."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from indexer.documents import ImagePart, TextPart

TITLE_MAX_CHARS = 200
CONTEXT_MAX_CHARS = 300
PART_SEPARATOR = "\n\n"
"""What ``ExtractedDocument.full_text`` puts between text parts."""

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Section:
    """A heading's text and body (or the text before the first heading) as found."""

    path: str | None
    text: str
    has_body: bool
    """False when the section is only its heading line."""


def assemble_parts(sections: Sequence[Section]) -> tuple[tuple[TextPart, ...], list[int]]:
    """Turn sections into text parts whose ``char_start`` is their offset in ``full_text``.

    A heading with no body of its own (``# Guide`` straight followed by ``## Install``) is
    folded into the next section's part, so that it is not a chunk of its own and the
    heading stays next to the text it introduces. Blank sections are dropped.

    Returns the parts and, for each section, the index of the part that holds it.
    """
    parts: list[TextPart] = []
    part_of_section: list[int] = []
    pending: list[str] = []
    pending_sections: list[int] = []
    offset = 0

    def emit(texts: list[str], path: str | None) -> None:
        nonlocal offset
        if parts:
            offset += len(PART_SEPARATOR)
        text = PART_SEPARATOR.join(texts)
        parts.append(TextPart(text=text, char_start=offset, section=path))
        offset += len(text)

    last_path: str | None = None
    for index, section in enumerate(sections):
        part_of_section.append(-1)
        if not section.text.strip():
            continue
        pending.append(section.text)
        pending_sections.append(index)
        last_path = section.path
        if section.has_body:
            emit(pending, section.path)
            for held in pending_sections:
                part_of_section[held] = len(parts) - 1
            pending, pending_sections = [], []
    if pending:
        emit(pending, last_path)
        for held in pending_sections:
            part_of_section[held] = len(parts) - 1
    return tuple(parts), part_of_section


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def first_line_title(text: str) -> str | None:
    """The first non-empty line, trimmed to ``TITLE_MAX_CHARS``; None if there is none."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped[:TITLE_MAX_CHARS].rstrip()
    return None


def clean_title(title: str | None) -> str | None:
    if title is None:
        return None
    collapsed = collapse_whitespace(title)
    return collapsed[:TITLE_MAX_CHARS].rstrip() or None


def trim_context(text: str, limit: int = CONTEXT_MAX_CHARS) -> str | None:
    """Whitespace-collapsed text cut at a word boundary to at most ``limit`` characters."""
    collapsed = collapse_whitespace(text)
    if not collapsed:
        return None
    if len(collapsed) <= limit:
        return collapsed
    cut = collapsed[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def reference_name(reference: str) -> str | None:
    """The file name at the end of a URL or path (``a/b/c.png?x=1`` → ``c.png``)."""
    if reference.startswith("data:"):
        return None
    name = PurePosixPath(unquote(urlsplit(reference).path)).name
    return name or None


def reference_content_type(reference: str) -> str | None:
    if reference.startswith("data:"):
        media = reference[5:].split(";", 1)[0].split(",", 1)[0].strip().lower()
        return media or None
    name = reference_name(reference)
    if name is None:
        return None
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


def cap_images(images: list[ImagePart], limit: int, warnings: list[str]) -> tuple[ImagePart, ...]:
    """Keep the first ``limit`` images, noting a warning when some were dropped."""
    if len(images) > limit:
        warnings.append(
            f"document has {len(images)} images, over the limit {limit}; "
            f"only the first {limit} are indexed"
        )
        images = images[:limit]
    return tuple(images)
