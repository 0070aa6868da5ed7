"""Text in legacy and Unicode encodings, and binary bytes posing as text."""

from __future__ import annotations

import gzip
import io

import pytest
from PIL import Image

from indexer.errors import ExtractionError
from indexer.extract import extract_document
from indexer.extract.plain import decode_text

CP1252_TEXT = "“Smart quotes” – the € sign costs 5 €; naïve café…"
FRENCH = "Le café est très bon à Paris. Où est la gare ? Ça coûte 5 € – « déjà vu ».\n" * 3
SHIFT_JIS_TEXT = "README: インストール手順\n1. pip install mmrag\n2. 設定ファイルを編集します。"
RUSSIAN = "Привет, мир! Это текст на русском языке для проверки кодировки."


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (CP1252_TEXT, "cp1252"),
        (FRENCH, "cp1252"),
        ("Grüße aus Köln – die Straße ist schön, „Äpfel“ kosten 3 €.", "cp1252"),
        ("déjà vu", "latin-1"),
        (SHIFT_JIS_TEXT, "shift_jis"),
        ("日本語のテキストです。東京は晴れ、明日は雨でしょう。", "shift_jis"),
        (RUSSIAN, "cp1251"),
        ("Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig.", "cp1250"),
    ],
)
def test_undeclared_legacy_encoding_is_detected(text: str, encoding: str) -> None:
    decoded, warnings = decode_text(text.encode(encoding))
    assert decoded == text
    assert len(warnings) == 1
    assert "not valid UTF-8" in warnings[0]


def test_the_detected_encoding_is_named_in_the_warning() -> None:
    document = extract_document(CP1252_TEXT.encode("cp1252"), "text/plain")
    assert document.full_text == CP1252_TEXT
    assert document.warnings == ("text is not valid UTF-8; decoded as cp1252 (detected)",)


def test_shift_jis_markdown_is_decoded() -> None:
    data = ("# 手順\n\n" + SHIFT_JIS_TEXT).encode("shift_jis")
    document = extract_document(data, "text/markdown")
    assert document.title == "手順"
    assert "設定ファイルを編集します。" in document.full_text


def test_declared_charset_wins_without_a_warning() -> None:
    document = extract_document(SHIFT_JIS_TEXT.encode("shift_jis"), "text/plain; charset=Shift_JIS")
    assert document.full_text == SHIFT_JIS_TEXT
    assert document.warnings == ()


@pytest.mark.parametrize("data", [CP1252_TEXT.encode(), CP1252_TEXT.encode("utf-8-sig")])
def test_utf8_with_or_without_bom_decodes_without_a_warning(data: bytes) -> None:
    assert decode_text(data) == (CP1252_TEXT, [])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_a_bom_decodes(encoding: str) -> None:
    data = SHIFT_JIS_TEXT.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    assert decode_text(data) == (SHIFT_JIS_TEXT, [])


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("content_type", ["text/plain", "text/markdown"])
@pytest.mark.parametrize(
    "data",
    [_png(), gzip.compress(b"a log line\n" * 500, mtime=0)],
    ids=["png", "gzip"],
)
def test_binary_bytes_are_a_clear_extraction_error(data: bytes, content_type: str) -> None:
    with pytest.raises(ExtractionError, match="not text in any known encoding"):
        extract_document(data, content_type, name="notes.txt")
