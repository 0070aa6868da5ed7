"""CMS HTML on lxml: bodies are sent to the indexer as HTML, titles become plain text.

CMS bodies arrive as HTML (WordPress ``content.rendered``, generic ``html``). The ingress
does not turn them into text: it sends the HTML itself as ``text/html`` and the worker's
extractor (:mod:`indexer.extract.html`, the same lxml parser) reads it once, so headings
start sections and escaped code (``&lt;script&gt;``) stays text. Decoding entities here
and sending the result as HTML again would have the worker read ``<script>`` as markup.

What the ingress needs of the HTML is read here with lxml (libxml2: linear time, forgiving
of broken markup): whether the body has any text, its title, and its relative image URLs
made absolute (the worker could only resolve them against the document's URI, which a
post without a public link does not have). Metadata fields (a title, a caption) are plain
text, so they are converted to text here. A document nested deeper than libxml2 builds
(its 2048-level limit) is sent as it came; the worker reads it as flat text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from lxml import etree
from lxml import html as lxml_html
from lxml.html import HtmlElement

NOT_TEXT_TAGS = ("script", "style", "noscript", "template", "head")
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "td", "th", "tr", "ul",
)  # fmt: skip
_IMAGE_URL_ATTRIBUTES = ("src", "data-src")
_WHITESPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^<>]*>")
_TITLE_ELEMENT = re.compile(r"<title[\s>]", re.IGNORECASE)


@dataclass(frozen=True)
class HtmlBody:
    """A CMS body ready to send: the HTML (relative image URLs resolved), whether it has
    any text, and its title (``<title>``, else the first ``<h1>``)."""

    html: str
    has_text: bool
    has_images: bool = False
    title: str | None = None


def prepare_html(
    html: str, resolve_url: Callable[[str], str], *, title: str | None = None
) -> HtmlBody:
    """Read ``html`` once; relative ``<img>`` URLs are replaced by ``resolve_url(url)``
    (which may raise to refuse the body). The HTML is sent as it came unless a URL had to
    be resolved, or ``title`` is given and the HTML has no ``<title>``: then the entry's
    title is put first as its ``<title>``, so the indexer titles the document by it rather
    than by its first heading (a post's body often starts at ``<h2>``)."""
    if title and not _TITLE_ELEMENT.search(html):
        html = f"<title>{escape(title, quote=False)}</title>\n{html}"
    try:
        root = _parse(html)
    except _TooDeep:  # the tree is cut short: send it as it came, for the worker to read
        text = _TAG.sub(" ", html)
        return HtmlBody(html=html, has_text=bool(text.strip()), has_images="<img" in html)
    if root is None:
        return HtmlBody(html=html, has_text=False)
    if _resolve_images(root, resolve_url):
        html = lxml_html.tostring(root, encoding="unicode")
    title = _first_text(root, "title") or _first_text(root, "h1")
    etree.strip_elements(root, *NOT_TEXT_TAGS, with_tail=False)
    has_text = any(piece.strip() for piece in root.itertext())
    has_images = any(_image_urls(image) for image in root.iter("img"))
    return HtmlBody(html=html, has_text=has_text, has_images=has_images, title=title)


def html_to_plain_text(html: str) -> str:
    """The text of an HTML fragment (a title, a caption): tags removed, entities decoded,
    blocks separated by a space, whitespace collapsed."""
    try:
        root = _parse(html)
    except _TooDeep:
        return collapse_whitespace(_TAG.sub(" ", html))
    if root is None:
        return ""
    etree.strip_elements(root, *NOT_TEXT_TAGS, with_tail=False)
    return _element_text(root)


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace (newlines and non-breaking spaces too) become one space."""
    return _WHITESPACE.sub(" ", text).strip()


class _TooDeep(Exception):
    """libxml2 stopped at its nesting limit: the tree misses the rest of the document."""


def _parse(html: str) -> HtmlElement | None:
    """The document's tree, or None for blank input. Text that is not valid UTF-8 (a lone
    surrogate) is replaced rather than refused: it is content, not structure."""
    parser = lxml_html.HTMLParser(
        encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True
    )
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except etree.ParserError:  # "Document is empty"
        return None
    if any(error.level_name == "FATAL" for error in parser.error_log):
        raise _TooDeep
    return root


def _element_text(element: HtmlElement) -> str:
    for block in element.iter(*_BLOCK_TAGS):
        block.tail = " " + (block.tail or "")
    return collapse_whitespace(element.text_content())


def _first_text(root: HtmlElement, tag: str) -> str | None:
    element = next(root.iter(tag), None)
    return _element_text(element) or None if element is not None else None


def _resolve_images(root: HtmlElement, resolve_url: Callable[[str], str]) -> bool:
    """Make every relative image URL absolute; whether any changed."""
    changed = False
    for image in root.iter("img"):
        for attribute, url in _image_urls(image):
            resolved = resolve_url(url)
            if resolved != url:
                image.set(attribute, resolved)
                changed = True
    return changed


def _image_urls(image: HtmlElement) -> list[tuple[str, str]]:
    """The ``(attribute, url)`` of an ``<img>`` that name a fetchable image (not inline
    ``data:``)."""
    found = ((name, (image.get(name) or "").strip()) for name in _IMAGE_URL_ATTRIBUTES)
    return [(name, url) for name, url in found if url and not url.startswith("data:")]
