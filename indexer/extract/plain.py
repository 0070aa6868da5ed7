"""text/plain: decode bytes to text (never crashing on a bad encoding) and make one part."""

from __future__ import annotations

import codecs

from indexer.documents import ExtractedDocument, TextPart
from indexer.extract.common import first_line_title, normalise_newlines

_BOMS: tuple[tuple[bytes, str], ...] = (
    # Longest first: the UTF-32 LE BOM starts with the UTF-16 LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes, charset: str | None = None) -> tuple[str, list[str]]:
    """Decode text bytes, returning the text (newlines normalised to ``\\n``) and warnings.

    A byte-order mark wins; then the declared ``charset``; then UTF-8; then Latin-1, which
    decodes any bytes, so this never raises. Falling back is a warning, not an error: the
    text is still worth indexing, and the warning makes the guess visible.
    """
    warnings: list[str] = []
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return normalise_newlines(data[len(bom) :].decode(encoding)), warnings
            except UnicodeDecodeError:
                warnings.append(
                    f"text starts with a {encoding} byte-order mark but is not {encoding}"
                )
                break
    candidates = ["utf-8"]
    if charset:
        try:
            candidates.insert(0, codecs.lookup(charset).name)
        except LookupError:
            warnings.append(f"unknown charset {charset!r}; trying UTF-8")
    for encoding in candidates:
        try:
            return normalise_newlines(data.decode(encoding)), warnings
        except UnicodeDecodeError:
            continue
    warnings.append("text is not valid UTF-8; decoded as Latin-1")
    return normalise_newlines(data.decode("latin-1")), warnings


def extract_plain(data: bytes, *, charset: str | None = None) -> ExtractedDocument:
    """One text part holding the whole text; the title is the first non-empty line."""
    text, warnings = decode_text(data, charset)
    parts = (TextPart(text=text),) if text.strip() else ()
    return ExtractedDocument(
        title=first_line_title(text), text_parts=parts, warnings=tuple(warnings)
    )
