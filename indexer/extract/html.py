"""text/html with the standard library's parser: the main text, sections and images.

The page is parsed into a small tree, then walked from its main content (``<main>``, else
its ``<article>`` elements, else ``<body>``), leaving out what is not content (scripts,
styles, navigation, page headers and footers). Block elements become line or paragraph
breaks so that chunking sees the page's paragraphs; headings start sections as in
Markdown. ``<img>`` elements become image parts (``<figcaption>`` as caption).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

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


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


_VOID = _tags("area base br col embed hr img input link meta param source track wbr")
_DROPPED = _tags(
    "script style noscript template nav head svg math iframe object canvas select button"
)
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
_SPACES = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """A forgiving tree: unknown end tags are ignored, unclosed elements close with a parent."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(node)
        if tag not in _VOID:
            self._open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(_Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def _find_all(node: _Node, tags: frozenset[str], *, nested: bool = False) -> list[_Node]:
    """Descendants with one of ``tags`` in document order (not inside each other unless
    ``nested``), skipping dropped subtrees."""
    found: list[_Node] = []
    for child in node.children:
        if isinstance(child, str) or child.tag in _DROPPED - {"head"}:
            continue
        if child.tag in tags:
            found.append(child)
            if not nested:
                continue
        found.extend(_find_all(child, tags, nested=nested))
    return found


def _text_of(node: _Node) -> str:
    pieces: list[str] = []

    def collect(current: _Node) -> None:
        for child in current.children:
            if isinstance(child, str):
                pieces.append(child)
            elif child.tag not in _DROPPED:
                collect(child)

    collect(node)
    return collapse_whitespace(" ".join(pieces))


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


class _Walker:
    def __init__(self, min_image_side: int) -> None:
        self.min_image_side = min_image_side
        self.sections = [_SectionDraft(path=None, heading=None)]
        self.stack: list[tuple[int, str]] = []
        self.images: list[_ImageDraft] = []

    def walk(self, node: _Node, *, in_content: bool, verbatim: bool, caption: str | None) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.sections[-1].write(child, verbatim=verbatim)
                continue
            tag = child.tag
            if tag in _DROPPED or "hidden" in child.attrs or (tag in _CHROME and not in_content):
                continue
            if tag in _HEADINGS:
                self._start_section(_HEADINGS[tag], _text_of(child))
                continue
            if tag == "img":
                self._image(child, caption)
                continue
            weight = 2 if tag in _PARAGRAPH_BLOCKS else 1 if tag in _LINE_BLOCKS else 0
            if tag in {"td", "th"}:
                self.sections[-1].write(" ")
            if tag == "figure":
                captions = _find_all(child, frozenset({"figcaption"}))
                caption = (_text_of(captions[0]) or None) if captions else None
            self.sections[-1].brk(weight)
            self.walk(
                child,
                in_content=in_content or tag in _CONTENT,
                verbatim=verbatim or tag == "pre",
                caption=caption,
            )
            self.sections[-1].brk(weight)

    def _start_section(self, level: int, title: str) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))
        path = " > ".join(name for _, name in self.stack if name) or None
        self.sections.append(_SectionDraft(path=path, heading=title or None))

    def _image(self, node: _Node, caption: str | None) -> None:
        source = node.attrs.get("src") or node.attrs.get("data-src") or ""
        if not source and node.attrs.get("srcset"):
            source = node.attrs["srcset"].split(",")[0].strip().split(" ")[0]
        if not source.strip():
            return
        for side in ("width", "height"):
            value = node.attrs.get(side, "").strip().removesuffix("px")
            if value.isdigit() and int(value) < self.min_image_side:
                return
        alt = collapse_whitespace(node.attrs.get("alt", "")) or None
        title = collapse_whitespace(node.attrs.get("title", "")) or None
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


def extract_html(
    data: bytes, *, charset: str | None = None, limits: ExtractionLimits = DEFAULT_LIMITS
) -> ExtractedDocument:
    """Main text as sections (heading path in ``section``), ``<img>`` as image parts."""
    declared = _META_CHARSET.search(data[:4096])
    meta_charset = declared.group(1).decode("ascii", "replace") if declared else None
    text, warnings = decode_text(data, charset or meta_charset)
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    tree = builder.root

    roots = _find_all(tree, frozenset({"main"})) or _find_all(tree, frozenset({"article"}))
    if not roots:
        roots = _find_all(tree, frozenset({"body"}))[:1] or [tree]
    walker = _Walker(limits.min_image_side)
    for root in roots:
        walker.sections[-1].brk(2)
        walker.walk(root, in_content=root.tag in _CONTENT, verbatim=False, caption=None)

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

    titles = _find_all(tree, frozenset({"title"}))
    h1s = _find_all(tree, frozenset({"h1"}))
    title = clean_title(_text_of(titles[0]) if titles else None) or clean_title(
        _text_of(h1s[0]) if h1s else None
    )
    return ExtractedDocument(
        title=title,
        text_parts=parts,
        image_parts=cap_images(images, limits.max_images_per_document, warnings),
        warnings=tuple(warnings),
    )
