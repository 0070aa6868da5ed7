"""text/markdown with markdown-it-py: sections by heading, images from ``![alt](src "title")``.

The text is kept as written (syntax and all): it is what the author wrote, it embeds and
matches well enough, and a citation can point back at the exact characters. Only the
structure is read, by a CommonMark parser: top-level headings (ATX ``#`` and setext, never
inside code) start sections, and images (inline ``![alt](src)`` and reference
``![alt][label]``, never inside code) become image parts to be fetched later. Sections are
cut from the source by the parser's line map, so code blocks stay verbatim.

Parsing is linear in the input. Block structure is parsed for the whole text; the inline
parser, the costly part, runs only on the blocks that can hold an image (those containing
``![``), with a low nesting limit: each ``![`` costs at most that many nested tries, and a
``![`` with no ``]`` within ``MAX_ALT_CHARS`` is text at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline, image
from markdown_it.token import Token

from indexer.documents import ExtractedDocument, ImagePart
from indexer.extract.common import (
    Section,
    assemble_parts,
    cap_images,
    clean_title,
    collapse_whitespace,
    reference_content_type,
    reference_name,
    trim_context,
)
from indexer.extract.limits import DEFAULT_LIMITS, ExtractionLimits
from indexer.extract.plain import decode_text

INLINE_MAX_NESTING = 2
"""Images nested in image labels deeper than this are text (real documents nest 0–1)."""
MAX_ALT_CHARS = 1000
"""An image's alt text must close (``]``) within this many characters (a CommonMark label
is at most 999), so a ``![`` with no ``]`` in reach is text at once."""


@dataclass(frozen=True)
class MarkdownImage:
    """An image of a Markdown text: its source as written, alt text, title, and line."""

    source: str
    alt: str
    title: str | None
    line: int


class _Parser(MarkdownIt):
    """CommonMark, keeping link destinations as written (no percent-encoding): a
    reference is resolved against the document later, and ``ü.png`` must stay that name.
    Unsafe schemes (``javascript:``, ``file:``, non-image ``data:``) are still refused."""

    def normalizeLink(self, url: str) -> str:
        return url


@cache
def _block_parser() -> MarkdownIt:
    """Blocks only: inline content is left unparsed (``inline`` tokens keep their source)."""
    return _Parser("commonmark").disable("inline")


@cache
def _inline_parser() -> MarkdownIt:
    """Only what decides where an image is: code spans, escapes, line breaks, images."""
    parser = _Parser("zero", {"maxNesting": INLINE_MAX_NESTING})
    parser.enable(["backticks", "escape", "newline", "image"])
    parser.inline.ruler.at("image", _image_in_reach)
    return parser


def _image_in_reach(state: StateInline, silent: bool) -> bool:
    """markdown-it's image rule, tried only when a ``]`` is within reach of the ``![``."""
    if state.src.find("]", state.pos, state.pos + MAX_ALT_CHARS + 2) < 0:
        return False
    return image(state, silent)


def find_images(text: str) -> list[MarkdownImage]:
    """The images of ``text`` in order (not those in code), references resolved."""
    env: MutableMapping[str, Any] = {}
    tokens = _block_parser().parse(text, env)
    return list(_images(tokens, env))


def _images(tokens: list[Token], env: MutableMapping[str, Any]) -> Iterator[MarkdownImage]:
    for token in tokens:
        if token.type != "inline" or "![" not in token.content:
            continue
        line = token.map[0] if token.map else 0
        for inline in _inline_parser().parseInline(token.content, env):
            for child in inline.children or ():
                source = str(child.attrGet("src") or "").strip() if child.type == "image" else ""
                if source:
                    title = child.attrGet("title")
                    found = str(title).strip() if title is not None else ""
                    yield MarkdownImage(source, child.content, found or None, line)


def extract_markdown(
    data: bytes, *, charset: str | None = None, limits: ExtractionLimits = DEFAULT_LIMITS
) -> ExtractedDocument:
    """Split Markdown into one text part per section (heading path in ``section``)."""
    text, warnings = decode_text(data, charset)
    lines = text.split("\n")
    env: MutableMapping[str, Any] = {}
    tokens = _block_parser().parse(text, env)

    starts = [0]
    sections_paths: list[str | None] = [None]
    body_from = [0]
    stack: list[tuple[int, str]] = []
    first_h1: str | None = None
    first_heading: str | None = None
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or not token.map:
            continue
        level = int(token.tag[1:])
        title = collapse_whitespace(tokens[index + 1].content)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        if title:
            first_heading = first_heading or title
            if level == 1:
                first_h1 = first_h1 or title
        starts.append(token.map[0])
        body_from.append(token.map[1])
        sections_paths.append(" > ".join(name for _, name in stack if name) or None)

    ends = [*starts[1:], len(lines)]
    sections = [
        Section(
            path=path,
            text=_trim_blank_lines(lines[start:end]),
            has_body=any(line.strip() for line in lines[body:end]),
        )
        for path, start, body, end in zip(sections_paths, starts, body_from, ends, strict=True)
    ]
    parts, part_of_section = assemble_parts(sections)
    contexts: dict[int, str | None] = {}  # per part: a long part is collapsed once

    def context(line: int) -> str | None:
        part = part_of_section[bisect.bisect_right(starts, line) - 1]
        if part not in contexts:
            contexts[part] = trim_context(parts[part].text)
        return contexts[part]

    images = [
        ImagePart(
            data=b"",
            content_type=reference_content_type(image.source),
            reference=image.source,
            alt_text=image.alt.strip() or None,
            caption=image.title,
            context=context(image.line),
            name=reference_name(image.source),
            index=index,
        )
        for index, image in enumerate(_images(tokens, env))
    ]
    return ExtractedDocument(
        title=clean_title(first_h1 or first_heading),
        text_parts=parts,
        image_parts=cap_images(images, limits.max_images_per_document, warnings),
        warnings=tuple(warnings),
    )


def _trim_blank_lines(lines: list[str]) -> str:
    """Drop leading blank lines and trailing whitespace; keep the first line's indent."""
    first = next((index for index, line in enumerate(lines) if line.strip()), len(lines))
    return "\n".join(lines[first:]).rstrip()
