"""HTML → plain text and image references, with only the standard library's ``html.parser``.

CMS bodies arrive as HTML (WordPress ``content.rendered``, generic ``html``). The indexer
wants text with the document's structure kept as line breaks (a paragraph, heading or list
item is one line) and the images as separate references, so each image can become its own
part with its alt text and caption. Script, style, noscript and template contents are not
text and are dropped; entities are decoded; whitespace inside a line is collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "td", "th", "tr", "ul", "title",
    }
)  # fmt: skip
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template"})
_VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "source", "wbr"})
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class HtmlImage:
    """An ``<img>`` of the page: its (resolved) ``src``, its alt text and any caption."""

    src: str
    alt: str | None = None
    caption: str | None = None


@dataclass(frozen=True)
class HtmlText:
    """The text of a page (one line per block), its title, and its images in order."""

    text: str
    title: str | None = None
    images: tuple[HtmlImage, ...] = ()


def html_to_text(html: str, base_url: str | None = None) -> HtmlText:
    """Convert HTML to :class:`HtmlText`; relative image URLs are resolved against
    ``base_url`` when one is given (and left as they are otherwise)."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    images = _unique_images(
        HtmlImage(
            src=urljoin(base_url, image.src) if base_url else image.src,
            alt=image.alt,
            caption=image.caption,
        )
        for image in parser.finished_images()
    )
    return HtmlText(text="\n".join(parser.lines()), title=parser.title(), images=images)


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace (newlines and non-breaking spaces too) become one space."""
    return _WHITESPACE.sub(" ", text).strip()


def _unique_images(images: Iterable[HtmlImage]) -> tuple[HtmlImage, ...]:
    """The first occurrence of each ``src`` wins (a page often repeats its hero image)."""
    seen: dict[str, HtmlImage] = {}
    for image in images:
        seen.setdefault(image.src, image)
    return tuple(seen.values())


@dataclass
class _Figure:
    images: list[HtmlImage] = field(default_factory=list)
    caption: list[str] = field(default_factory=list)
    in_caption: bool = False


class _TextParser(HTMLParser):
    """Collects text lines, the ``<title>`` (or first ``<h1>``) and images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._current: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._title_parts: list[str] | None = None
        self._heading_parts: list[str] | None = None
        self._title: str | None = None
        self._first_heading: str | None = None
        self._figures: list[_Figure] = []
        self._images: list[HtmlImage] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag in _BLOCK_TAGS:
            self._break_line()
        if tag == "pre":
            self._pre_depth += 1
        elif tag == "title":
            self._title_parts = []
        elif tag == "h1" and self._first_heading is None:
            self._heading_parts = []
        elif tag == "figure":
            self._figures.append(_Figure())
        elif tag == "figcaption" and self._figures:
            self._figures[-1].in_caption = True
        elif tag == "img":
            self._add_image(dict(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth or tag in _VOID_TAGS:
            return
        if tag in _BLOCK_TAGS:
            self._break_line()
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        elif tag == "title" and self._title_parts is not None:
            self._title = collapse_whitespace("".join(self._title_parts)) or None
            self._title_parts = None
        elif tag == "h1" and self._heading_parts is not None:
            self._first_heading = collapse_whitespace("".join(self._heading_parts)) or None
            self._heading_parts = None
        elif tag == "figcaption" and self._figures:
            self._figures[-1].in_caption = False
        elif tag == "figure" and self._figures:
            self._close_figure(self._figures.pop())

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._title_parts is not None:
            self._title_parts.append(data)
            return  # the <title> is metadata, not body text
        if self._heading_parts is not None:
            self._heading_parts.append(data)
        if self._figures and self._figures[-1].in_caption:
            self._figures[-1].caption.append(data)
        if self._pre_depth:
            self._add_preformatted(data)
        else:
            self._current.append(data)

    def close(self) -> None:
        super().close()
        self._break_line()
        while self._figures:
            self._close_figure(self._figures.pop())

    def lines(self) -> list[str]:
        return self._lines

    def title(self) -> str | None:
        return self._title or self._first_heading

    def finished_images(self) -> list[HtmlImage]:
        return self._images

    def _add_image(self, attrs: dict[str, str | None]) -> None:
        src = (attrs.get("src") or attrs.get("data-src") or "").strip()
        if not src or src.startswith("data:"):
            return  # inline data URIs are not references the indexer can fetch
        alt = collapse_whitespace(attrs.get("alt") or "") or None
        title = collapse_whitespace(attrs.get("title") or "") or None
        image = HtmlImage(src=src, alt=alt or title)
        if self._figures:
            self._figures[-1].images.append(image)
        else:
            self._images.append(image)

    def _close_figure(self, figure: _Figure) -> None:
        caption = collapse_whitespace("".join(figure.caption)) or None
        for image in figure.images:
            self._images.append(HtmlImage(image.src, image.alt, image.caption or caption))

    def _add_preformatted(self, data: str) -> None:
        pieces = data.split("\n")
        self._current.append(pieces[0])
        for piece in pieces[1:]:
            self._break_line()
            self._current.append(piece)

    def _break_line(self) -> None:
        line = collapse_whitespace("".join(self._current))
        self._current = []
        if line:
            self._lines.append(line)
