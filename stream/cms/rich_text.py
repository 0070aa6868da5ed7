"""Structured rich text (Strapi 5 "blocks", Contentful rich-text documents) → lines of text.

Both are trees: block nodes (paragraph, heading, list, list item, quote) whose leaves are
inline text nodes. A block whose direct children include text is one line, all of its
inline descendants (links included) joined; other blocks are walked into. The two CMSs only
differ in key names, which :class:`RichTextKeys` names. Markdown (Strapi 4 rich text,
Contentful long text) stays text as it is; only its images are picked out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stream.cms.html_text import collapse_whitespace

_MARKDOWN_IMAGE = re.compile(r'!\[(?P<alt>[^\]]*)\]\(\s*<?(?P<url>[^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')


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
    """The non-empty lines of a node, a list of nodes, or a whole document."""
    if isinstance(node, list):
        return [line for child in node for line in rich_text_lines(child, keys)]
    if not isinstance(node, Mapping):
        return []
    if isinstance(node.get(keys.text), str):
        line = collapse_whitespace(node[keys.text])
        return [line] if line else []
    children = node.get(keys.children)
    if not isinstance(children, list):
        return []
    if any(_is_text_leaf(child, keys) for child in children):
        line = collapse_whitespace(_inline_text(node, keys))
        return [line] if line else []
    return rich_text_lines(children, keys)


def _is_text_leaf(node: object, keys: RichTextKeys) -> bool:
    return isinstance(node, Mapping) and isinstance(node.get(keys.text), str)


def _inline_text(node: Mapping[str, Any], keys: RichTextKeys) -> str:
    text = node.get(keys.text)
    if isinstance(text, str):
        return text
    children = node.get(keys.children)
    if not isinstance(children, list):
        return ""
    return "".join(_inline_text(child, keys) for child in children if isinstance(child, Mapping))


def markdown_images(text: str) -> list[tuple[str, str | None]]:
    """The ``![alt](url "title")`` images of markdown text, as ``(url, alt)``."""
    return [
        (match["url"], collapse_whitespace(match["alt"]) or None)
        for match in _MARKDOWN_IMAGE.finditer(text)
    ]
