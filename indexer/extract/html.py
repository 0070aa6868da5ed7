"""text/html with lxml: the main text, sections and images.

The page is parsed by lxml (libxml2's HTML parser: linear time, forgiving of broken
markup), its chrome is removed (``layout``: navigation, sidebars, footers, permalink
anchors, the layouts of Sphinx, DocBook and MkDocs), then it is walked from its main
content (``<main>``, else ``role="main"``, else its ``<article>`` elements, else
``<body>``) with an explicit stack, never recursion, so a page nested thousands of levels
deep costs what its size costs. Block elements become line or paragraph breaks so that
chunking sees the page's paragraphs; headings start sections as in Markdown. A page that
names its parent (DocBook's "Up" link: the chapter of a section page) has the parent's
title first in every heading path (``GIN Indexes > 70.2. Built-in Operator Classes``),
since "Introduction" or "Implementation" alone says little. ``<img>``
elements become image parts (``<figcaption>`` as caption). The title comes from
``<title>`` and the headings (``titles``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from lxml import etree
from lxml import html as lxml_html
from lxml.html import HtmlElement

from indexer.documents import ExtractedDocument, ImagePart
from indexer.extract.common import (
    Section,
    assemble_parts,
    cap_images,
    collapse_whitespace,
    reference_content_type,
    reference_name,
    trim_context,
)
from indexer.extract.layout import (
    DROPPED_TAGS,
    content_roots,
    parent_title,
    remove_boilerplate,
)
from indexer.extract.limits import DEFAULT_LIMITS, ExtractionLimits
from indexer.extract.plain import decode_text
from indexer.extract.titles import choose_title, clean_heading, strip_numbering


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


_CHROME = _tags("header footer")
"""Dropped as page chrome, except inside ``<main>`` or ``<article>`` (an article's header
holds its title)."""
_CONTENT = _tags("main article")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_PARAGRAPH_BLOCKS = _tags(
    "address article aside blockquote center details dialog div dl fieldset figure form hr "
    "main ol p pre section table ul"
)
_LINE_BLOCKS = _tags("br caption dd dt figcaption li summary tr")
_ADMONITIONS = _tags("admonition note tip hint warning caution important attention danger")
"""Classes of boxed remarks: a heading inside one ("Note") labels the box; it does not
start a section (the text after the box still belongs to the section around it)."""
_SPACES = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_TITLE_HEADINGS = 8
"""How many of the first headings may name the page (see ``titles.choose_title``)."""


def _text_of(element: HtmlElement) -> str:
    return collapse_whitespace("".join(element.itertext()))


def _classes(element: HtmlElement) -> set[str]:
    return set((element.get("class") or "").split())


def _weight(tag: str) -> int:
    if tag in _PARAGRAPH_BLOCKS or tag in _HEADINGS:
        return 2
    return 1 if tag in _LINE_BLOCKS else 0


@dataclass
class _SectionDraft:
    path: str | None
    heading: str | None
    out: list[str] = field(default_factory=list)
    pending_break: int = 0

    def write(self, text: str, *, verbatim: bool = False) -> None:
        """Append text; outside ``<pre>`` whitespace runs collapse to one space."""
        if not verbatim:
            text = _SPACES.sub(" ", text)
            if not self.out or self.pending_break or self.out[-1].endswith((" ", "\n")):
                text = text.lstrip(" ")
        if not text:
            return
        if self.pending_break and self.out:
            self.out[-1] = self.out[-1].rstrip(" ")
            self.out.append("\n" * self.pending_break)
        self.pending_break = 0
        self.out.append(text)

    def brk(self, weight: int) -> None:
        self.pending_break = max(self.pending_break, weight)

    def section(self) -> Section:
        body = "".join(self.out).strip()
        text = "\n\n".join(piece for piece in (self.heading, body) if piece)
        return Section(path=self.path, text=text, has_body=bool(body))


@dataclass(frozen=True)
class _ImageDraft:
    section: int
    source: str
    alt: str | None
    caption: str | None


@dataclass(frozen=True)
class _Context:
    """What applies inside an element: content area, ``<pre>``, the figure's caption."""

    in_content: bool
    verbatim: bool
    caption: str | None
    in_aside: bool = False
    """Inside an admonition (DocBook ``div.note``): its ``<h3>Note</h3>`` is a label."""


class _Walker:
    def __init__(self, min_image_side: int, parent: str | None, title: str | None) -> None:
        self.min_image_side = min_image_side
        self.parent = parent
        self.title = title.casefold() if title else None
        """The page's title: its heading heads the path of every later section, whatever
        its level (a DocBook reference page's ``<h2>SELECT</h2>`` above ``<h2>Synopsis``)."""
        self.sections = [_SectionDraft(path=parent, heading=None)]
        self.stack: list[tuple[int, str]] = []
        self.images: list[_ImageDraft] = []

    def walk(self, root: HtmlElement) -> None:
        """Write ``root``'s text in document order (iteratively: no recursion limit)."""
        start = _Context(in_content=root.tag in _CONTENT, verbatim=False, caption=None)
        # (element, the context it sits in, whether this is its closing visit)
        pending: list[tuple[HtmlElement, _Context, bool]] = [(root, start, False)]
        while pending:
            element, outer, closing = pending.pop()
            if closing:
                self.sections[-1].brk(_weight(element.tag))
                self._tail(element, outer, root)
                continue
            tag = element.tag
            if (
                not isinstance(tag, str)
                or tag in DROPPED_TAGS
                or "hidden" in element.attrib
                or (tag in _CHROME and not outer.in_content)
            ):
                self._tail(element, outer, root)
                continue
            if tag in _HEADINGS and not outer.in_aside:
                self._start_section(_HEADINGS[tag], clean_heading(_text_of(element)))
                self._tail(element, outer, root)
                continue
            if tag == "img":
                self._image(element, outer.caption)
                self._tail(element, outer, root)
                continue
            caption = outer.caption
            if tag == "figure":
                found = element.find(".//figcaption")
                caption = (_text_of(found) or None) if found is not None else None
            inner = _Context(
                in_content=outer.in_content or tag in _CONTENT,
                verbatim=outer.verbatim or tag == "pre",
                caption=caption,
                in_aside=outer.in_aside or not _ADMONITIONS.isdisjoint(_classes(element)),
            )
            if tag in {"td", "th"}:
                self.sections[-1].write(" ")
            self.sections[-1].brk(_weight(tag))
            if element.text:
                self.sections[-1].write(element.text, verbatim=inner.verbatim)
            pending.append((element, outer, True))
            pending.extend((child, inner, False) for child in reversed(element))

    def _tail(self, element: HtmlElement, outer: _Context, root: HtmlElement) -> None:
        if element is not root and element.tail:
            self.sections[-1].write(element.tail, verbatim=outer.verbatim)

    def _start_section(self, level: int, title: str) -> None:
        if self.title is not None and strip_numbering(title).casefold() == self.title:
            level, self.title = 0, None
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))
        names = [self.parent, *(name for _, name in self.stack)]
        path = " > ".join(name for name in names if name) or None
        self.sections.append(_SectionDraft(path=path, heading=title or None))

    def _image(self, node: HtmlElement, caption: str | None) -> None:
        attrs = node.attrib
        source = attrs.get("src") or attrs.get("data-src") or ""
        if not source and attrs.get("srcset"):
            source = attrs["srcset"].split(",")[0].strip().split(" ")[0]
        if not source.strip():
            return
        for side in ("width", "height"):
            value = (attrs.get(side) or "").strip().removesuffix("px")
            if value.isdigit() and int(value) < self.min_image_side:
                return
        alt = collapse_whitespace(attrs.get("alt") or "") or None
        title = collapse_whitespace(attrs.get("title") or "") or None
        self.images.append(
            _ImageDraft(len(self.sections) - 1, source.strip(), alt, caption or title)
        )


def _decode_data_uri(source: str) -> bytes | None:
    header, _, payload = source.partition(",")
    if not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None


class _BeyondLimits(Exception):
    """libxml2 stopped at one of its limits (nesting over 2048 levels, a text node over
    10 MB): the rest of the page is missing from its tree."""


def _parse(text: str) -> HtmlElement | None:
    """The page's tree; None for a page with no elements at all (blank input)."""
    # bytes with a declared encoding: a str with an XML declaration is refused by lxml
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        tree = lxml_html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except etree.ParserError:
        return None
    if any(error.level_name == "FATAL" for error in parser.error_log):
        raise _BeyondLimits
    return tree


class _FlatText(HTMLParser):
    """Text and block breaks of a page, tag by tag, with no tree (for pages too deep for
    libxml2): linear, whatever the nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = _SectionDraft(path=None, heading=None)
        self._skipping = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_TAGS:
            self._skipping += 1
        self._pre += tag == "pre"
        self.out.brk(_weight(tag))

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        self.out.brk(_weight(tag))

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.out.write(data, verbatim=self._pre > 0)


def _flat_document(text: str, warnings: list[str]) -> ExtractedDocument:
    flat = _FlatText()
    flat.feed(text)
    flat.close()
    warnings.append(
        "page beyond the HTML parser's limits (nested over 2048 levels deep, or a text "
        "over 10 MB): indexed as flat text, without sections or images"
    )
    parts, _ = assemble_parts([flat.out.section()])
    return ExtractedDocument(title=None, text_parts=parts, warnings=tuple(warnings))


def _headings(roots: list[HtmlElement]) -> list[HtmlElement]:
    """The content's headings: its first ``<h1>`` first, then the rest in document order."""
    ordered = [
        element
        for root in roots
        for element in root.iter(*_HEADINGS)
        if isinstance(element, HtmlElement)
    ]
    first_h1 = next((element for element in ordered if element.tag == "h1"), None)
    if first_h1 is None:
        return ordered
    return [first_h1, *(element for element in ordered if element is not first_h1)]


def extract_html(
    data: bytes, *, charset: str | None = None, limits: ExtractionLimits = DEFAULT_LIMITS
) -> ExtractedDocument:
    """Main text as sections (heading path in ``section``), ``<img>`` as image parts."""
    declared = _META_CHARSET.search(data[:4096])
    meta_charset = declared.group(1).decode("ascii", "replace") if declared else None
    text, warnings = decode_text(data, charset or meta_charset)
    try:
        tree = _parse(text)
    except _BeyondLimits:
        return _flat_document(text, warnings)
    if tree is None:
        return ExtractedDocument(title=None, warnings=tuple(warnings))
    title_element = tree.find("head/title")  # not an SVG icon's <title>
    page_title = _text_of(title_element) if title_element is not None else None
    parent = parent_title(tree)

    remove_boilerplate(tree)
    roots = content_roots(tree)
    headings = [
        _text_of(element)
        for _, element in zip(range(_TITLE_HEADINGS), _headings(roots), strict=False)
    ]
    title = choose_title(page_title, headings)
    walker = _Walker(limits.min_image_side, parent if parent != title else None, title)
    for root in roots:
        walker.sections[-1].brk(2)
        walker.walk(root)

    parts, part_of_section = assemble_parts([draft.section() for draft in walker.sections])
    images: list[ImagePart] = []
    for image in walker.images:
        inline = image.source.startswith("data:")
        payload = _decode_data_uri(image.source) if inline else b""
        if payload is None:
            warnings.append("an inline image (data: URI) could not be decoded; skipped")
            continue
        part_index = part_of_section[image.section]
        images.append(
            ImagePart(
                data=payload,
                content_type=reference_content_type(image.source),
                reference=None if inline else image.source,
                alt_text=image.alt,
                caption=image.caption,
                context=trim_context(parts[part_index].text) if part_index >= 0 else None,
                name=reference_name(image.source),
                index=len(images),
            )
        )

    return ExtractedDocument(
        title=title,
        text_parts=parts,
        image_parts=cap_images(images, limits.max_images_per_document, warnings),
        warnings=tuple(warnings),
    )
