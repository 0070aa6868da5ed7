"""Structured rich text (Strapi 5 "blocks", Contentful rich-text documents) → lines of text.

Both are trees: block nodes (paragraph, heading, list, list item, quote) whose leaves are
inline text nodes. A block whose direct children include text is one line, all of its
inline descendants (links included) joined; other blocks are walked into. The two CMSs only
differ in key names, which :class:`RichTextKeys` names. Markdown (Strapi 4 rich text,
Contentful long text) stays text as it is; only its images are picked out, by the
indexer's Markdown parser (markdown-it-py), so the ingress and the worker agree on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from indexer.extract.markdown import find_images
from stream.cms.html_text import collapse_whitespace


@dataclass(frozen=True)
class RichTextKeys:
    """The key of a node's kind, its children and a text leaf's string."""

    kind: str
    children: str
    text: str


STRAPI_BLOCKS = RichTextKeys(kind="type", children="children", text="text")
CONTENTFUL_RICH_TEXT = RichTextKeys(kind="nodeType", children="content", text="value")


def is_strapi_blocks(value: object) -> bool:
    """A Strapi 5 blocks field: a non-empty list of ``{type, children: [...]}`` nodes."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(node, Mapping)
            and isinstance(node.get("type"), str)
            and isinstance(node.get("children"), list)
            for node in value
        )
    )


def is_contentful_document(value: object) -> bool:
    """A Contentful rich-text field: ``{"nodeType": "document", "content": [...]}``."""
    return (
        isinstance(value, Mapping)
        and value.get("nodeType") == "document"
        and isinstance(value.get("content"), list)
    )


def rich_text_lines(node: object, keys: RichTextKeys) -> list[str]:
    """The non-empty lines of a node, a list of nodes, or a whole document.

    Walked with an explicit stack, each node once, so the cost is the document's size
    whatever its depth.
    """
    lines: list[str] = []
    pending: list[object] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, list):
            pending.extend(reversed(current))
            continue
        if not isinstance(current, Mapping):
            continue
        if isinstance(current.get(keys.text), str):
            _add_line(lines, current[keys.text])
            continue
        children = current.get(keys.children)
        if not isinstance(children, list):
            continue
        if any(_is_text_leaf(child, keys) for child in children):
            _add_line(lines, _inline_text(current, keys))
        else:
            pending.extend(reversed(children))
    return lines


def _add_line(lines: list[str], text: str) -> None:
    line = collapse_whitespace(text)
    if line:
        lines.append(line)


def _is_text_leaf(node: object, keys: RichTextKeys) -> bool:
    return isinstance(node, Mapping) and isinstance(node.get(keys.text), str)


def _inline_text(node: Mapping[str, Any], keys: RichTextKeys) -> str:
    """All text leaves under ``node`` in order, joined (links and marks included)."""
    pieces: list[str] = []
    pending: list[object] = [node]
    while pending:
        current = pending.pop()
        if not isinstance(current, Mapping):
            continue
        text = current.get(keys.text)
        if isinstance(text, str):
            pieces.append(text)
            continue
        children = current.get(keys.children)
        if isinstance(children, list):
            pending.extend(reversed(children))
    return "".join(pieces)


def markdown_images(text: str) -> list[tuple[str, str | None]]:
    """The images of markdown text (inline and reference, not in code), as ``(url, alt)``,
    found by the indexer's own Markdown parser (linear time)."""
    return [(image.source, collapse_whitespace(image.alt) or None) for image in find_images(text)]
