"""text/plain: decode bytes to text (detecting an undeclared encoding) and make one part."""

from __future__ import annotations

import codecs

import charset_normalizer

from indexer.documents import ExtractedDocument, TextPart
from indexer.errors import ExtractionError
from indexer.extract.common import first_line_title, normalise_newlines

_BOMS: tuple[tuple[bytes, str], ...] = (
    # Longest first: the UTF-32 LE BOM starts with the UTF-16 LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WINDOWS_1252 = "cp1252"
# How much more "chaos" (charset-normalizer's mess ratio, 0–1) than the best guess an
# encoding may show and still count as equally plausible.
_CHAOS_TOLERANCE = 0.1


def decode_text(data: bytes, charset: str | None = None) -> tuple[str, list[str]]:
    """Decode text bytes, returning the text (newlines normalised to ``\\n``) and warnings.

    A byte-order mark wins; then the declared ``charset``; then UTF-8; then the encoding
    charset-normalizer detects. Falling back is a warning, not an error: the text is still
    worth indexing, and the warning makes the guess visible. Bytes that are text in no
    encoding (an image or archive named ``.txt``) raise ``ExtractionError``.
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
    for encoding in [*candidates, *_detected_encodings(data)]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding not in candidates:
            warnings.append(f"text is not valid UTF-8; decoded as {encoding} (detected)")
        return normalise_newlines(text), warnings
    raise ExtractionError("the bytes are not text in any known encoding (a binary file?)")


def _detected_encodings(data: bytes) -> list[str]:
    """The encodings charset-normalizer finds plausible, most likely first; empty for
    binary data.

    Short Western European text is equally plausible in several single-byte code pages
    (cp1250, cp1252, cp1257 …) and the detector's pick among them is arbitrary (French
    came out as Baltic cp1257). Where windows-1252 is among the near-best, it goes first:
    it is the usual encoding of undeclared legacy text (the WHATWG Encoding Standard's
    default) and a superset of Latin-1.
    """
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return []
    near_best = [m for m in matches if m.chaos <= matches[0].chaos + _CHAOS_TOLERANCE]
    if any(_WINDOWS_1252 in m.could_be_from_charset for m in near_best):
        return [_WINDOWS_1252, *(m.encoding for m in matches)]
    return [m.encoding for m in matches]


def extract_plain(data: bytes, *, charset: str | None = None) -> ExtractedDocument:
    """One text part holding the whole text; the title is the first non-empty line."""
    text, warnings = decode_text(data, charset)
    parts = (TextPart(text=text),) if text.strip() else ()
    return ExtractedDocument(
        title=first_line_title(text), text_parts=parts, warnings=tuple(warnings)
    )
