"""text/markdown: sections by ATX heading, images from ``![alt](src "title")``.

The text is kept as written (syntax and all): it is what the author wrote, it embeds and
matches well enough, and a citation can point back at the exact characters. Only the
structure is read: headings (outside fenced code) start sections, and image references
become image parts to be fetched later. Setext headings (underlined) are not recognised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.documents import ExtractedDocument, ImagePart
from indexer.extract.common import (
    Section,
    assemble_parts,
    cap_images,
    clean_title,
    reference_content_type,
    reference_name,
    trim_context,
)
from indexer.extract.limits import DEFAULT_LIMITS, ExtractionLimits
from indexer.extract.plain import decode_text

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_TITLE = r"""(?:\s+("[^"]*"|'[^']*'|\([^)]*\)))?"""
_INLINE_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*(<[^>]*>|[^)\s]+)" + _TITLE + r"\s*\)")
_REFERENCE_IMAGE = re.compile(r"!\[([^\]]*)\]\[([^\]]*)\]")
_DEFINITION = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(<[^>]*>|\S+)" + _TITLE + r"\s*$")


@dataclass
class _Draft:
    """A section being read: its heading path, lines and images."""

    path: str | None
    lines: list[str]
    has_body: bool = False


@dataclass(frozen=True)
class _ImageReference:
    section: int
    source: str
    alt: str
    title: str | None


def _unquote_title(raw: str | None) -> str | None:
    if not raw:
        return None
    return raw[1:-1].strip() or None


def _unbracket(source: str) -> str:
    return source[1:-1].strip() if source.startswith("<") and source.endswith(">") else source


def _outside_fences(lines: list[str]) -> list[bool]:
    """For each line, whether it is Markdown (True) or inside/delimiting a fenced block."""
    prose: list[bool] = []
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                prose.append(False)
            else:
                prose.append(True)
            continue
        prose.append(False)
        closes = match is not None and match.group(1)[0] == fence[0]
        if (
            closes
            and match
            and len(match.group(1)) >= len(fence)
            and not line[match.end() :].strip()
        ):
            fence = None
    return prose


def extract_markdown(
    data: bytes, *, charset: str | None = None, limits: ExtractionLimits = DEFAULT_LIMITS
) -> ExtractedDocument:
    """Split Markdown into one text part per section (heading path in ``section``)."""
    text, warnings = decode_text(data, charset)
    lines = text.split("\n")
    prose = _outside_fences(lines)
    definitions: dict[str, tuple[str, str | None]] = {}
    for line, is_prose in zip(lines, prose, strict=True):
        found = _DEFINITION.match(line) if is_prose else None
        if found:
            label = found.group(1).strip().lower()
            definitions.setdefault(
                label, (_unbracket(found.group(2)), _unquote_title(found.group(3)))
            )

    drafts = [_Draft(path=None, lines=[])]
    stack: list[tuple[int, str]] = []
    first_h1: str | None = None
    first_heading: str | None = None
    references: list[_ImageReference] = []
    for line, is_prose in zip(lines, prose, strict=True):
        heading = _HEADING.match(line) if is_prose else None
        if heading:
            level, title = len(heading.group(1)), (heading.group(2) or "").strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            if title:
                first_heading = first_heading or title
                if level == 1:
                    first_h1 = first_h1 or title
            path = " > ".join(name for _, name in stack if name) or None
            drafts.append(_Draft(path=path, lines=[line]))
            continue
        current = drafts[-1]
        current.lines.append(line)
        if line.strip():
            current.has_body = True
        if is_prose:
            references.extend(_images_in_line(line, len(drafts) - 1, definitions))

    sections = [
        Section(path=d.path, text=_trim_blank_lines("\n".join(d.lines)), has_body=d.has_body)
        for d in drafts
    ]
    parts, part_of_section = assemble_parts(sections)
    images = [
        ImagePart(
            data=b"",
            content_type=reference_content_type(ref.source),
            reference=ref.source,
            alt_text=ref.alt.strip() or None,
            caption=ref.title,
            context=trim_context(parts[part_of_section[ref.section]].text),
            name=reference_name(ref.source),
            index=index,
        )
        for index, ref in enumerate(references)
    ]
    return ExtractedDocument(
        title=clean_title(first_h1 or first_heading),
        text_parts=parts,
        image_parts=cap_images(images, limits.max_images_per_document, warnings),
        warnings=tuple(warnings),
    )


def _images_in_line(
    line: str, section: int, definitions: dict[str, tuple[str, str | None]]
) -> list[_ImageReference]:
    """Image references on one line, in order; those inside inline code are ignored."""
    visible = _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)
    found: list[tuple[int, _ImageReference]] = []
    for match in _INLINE_IMAGE.finditer(visible):
        source = _unbracket(match.group(2))
        if source:
            title = _unquote_title(match.group(3))
            found.append((match.start(), _ImageReference(section, source, match.group(1), title)))
    for match in _REFERENCE_IMAGE.finditer(visible):
        label = (match.group(2) or match.group(1)).strip().lower()
        if label in definitions:
            source, title = definitions[label]
            found.append((match.start(), _ImageReference(section, source, match.group(1), title)))
    return [ref for _, ref in sorted(found, key=lambda item: item[0])]


def _trim_blank_lines(text: str) -> str:
    """Drop leading blank lines and trailing whitespace; keep the first line's indent."""
    return re.sub(r"\A(?:[ \t]*\n)+", "", text).rstrip()
