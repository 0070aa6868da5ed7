"""Extraction of plain text, Markdown and HTML, and the dispatch by content type."""

from __future__ import annotations

import base64

import pytest

from indexer.documents import ExtractedDocument
from indexer.errors import ExtractionError, UnsupportedContent
from indexer.extract import ExtractionLimits, extract_document, resolve_content_type


def assert_offsets_consistent(document: ExtractedDocument) -> None:
    full = document.full_text
    for part in document.text_parts:
        assert full[part.char_start : part.char_start + len(part.text)] == part.text


# --- dispatch -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "name", "expected"),
    [
        ("text/plain", None, "text/plain"),
        ("Text/Markdown; charset=UTF-8", None, "text/markdown"),
        ("text/x-markdown", None, "text/markdown"),
        (None, "notes/readme.md", "text/markdown"),
        (None, "notes/readme.markdown", "text/markdown"),
        ("application/octet-stream", "page.html", "text/html"),
        (None, "report.PDF", "application/pdf"),
        (None, "photo.jpg", "image/jpeg"),
        ("image/jpg", None, "image/jpeg"),
        ("application/xhtml+xml", None, "text/html"),
        ("application/x-unknown", "notes.txt", "text/plain"),
    ],
)
def test_content_type_resolution(content_type: str | None, name: str | None, expected: str) -> None:
    assert resolve_content_type(content_type, name) == expected


def test_unknown_content_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedContent) as raised:
        extract_document(b"PK\x03\x04", "application/zip", name="archive.zip")
    assert "application/zip is not indexed" in raised.value.reason


def test_no_type_and_no_name_is_unsupported() -> None:
    with pytest.raises(UnsupportedContent, match="is not indexed"):
        extract_document(b"hello", None)


def test_too_many_bytes_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="over the limit 10"):
        extract_document(b"x" * 11, "text/plain", limits=ExtractionLimits(max_bytes=10))


# --- plain text -----------------------------------------------------------------------


def test_plain_text_normalises_newlines_and_takes_first_line_as_title() -> None:
    document = extract_document(b"\n\n  Field notes  \r\nline two\rline three\r\n", "text/plain")
    assert document.title == "Field notes"
    assert document.text_parts[0].text == "\n\n  Field notes  \nline two\nline three\n"
    assert document.warnings == ()


def test_plain_text_strips_utf8_bom() -> None:
    document = extract_document("Café crème".encode("utf-8-sig"), "text/plain")
    assert document.full_text == "Café crème"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_plain_text_honours_utf16_and_utf32_boms(encoding: str) -> None:
    document = extract_document("Grüße aus Köln".encode(encoding), "text/plain")
    assert document.full_text == "Grüße aus Köln"


def test_plain_text_uses_declared_charset() -> None:
    data = "naïve".encode("utf-16-le")
    assert extract_document(data, "text/plain; charset=utf-16-le").full_text == "naïve"


def test_plain_text_not_utf8_is_decoded_with_a_warning() -> None:
    document = extract_document("déjà vu".encode("latin-1"), "text/plain")
    assert document.full_text == "déjà vu"
    assert any("not valid UTF-8" in warning for warning in document.warnings)


def test_plain_text_unknown_charset_is_a_warning_not_a_crash() -> None:
    document = extract_document(b"hello", "text/plain; charset=no-such-codec")
    assert document.full_text == "hello"
    assert any("no-such-codec" in warning for warning in document.warnings)


def test_plain_title_is_trimmed_to_200_characters() -> None:
    document = extract_document(("word " * 100).encode(), "text/plain")
    assert document.title is not None
    assert len(document.title) <= 200


def test_empty_plain_text_has_no_parts_and_no_title() -> None:
    document = extract_document(b"  \n\n ", "text/plain")
    assert document.text_parts == ()
    assert document.title is None


# --- Markdown -------------------------------------------------------------------------

MARKDOWN = """Some words before any heading.

# Guide

## Install

Run the installer. ![Architecture](img/arch.png "The flow") and `![code](not.png)`.

```bash
# not a heading
![fenced](not-either.png)
```

~~~~
## still code
~~~
~~~~

### From source

Build it yourself. ![Logo][logo]

[logo]: <https://example.org/logo.svg> 'Our logo'

## Use ##

#hashtag is not a heading.

# Appendix
"""


def test_markdown_sections_follow_heading_paths() -> None:
    document = extract_document(MARKDOWN.encode(), "text/markdown")
    sections = [part.section for part in document.text_parts]
    assert sections == [
        None,
        "Guide > Install",
        "Guide > Install > From source",
        "Guide > Use",
        "Appendix",
    ]
    assert_offsets_consistent(document)


def test_markdown_keeps_text_as_is_and_folds_heading_only_sections() -> None:
    document = extract_document(MARKDOWN.encode(), "text/markdown")
    install = document.text_parts[1]
    assert install.text.startswith("# Guide\n\n## Install\n\nRun the installer. ![Architecture]")
    assert "# not a heading" in install.text
    assert "## still code" in install.text
    assert document.text_parts[3].text.startswith("## Use ##\n\n#hashtag")
    assert document.text_parts[-1].text == "# Appendix"


def test_markdown_title_prefers_first_h1() -> None:
    assert extract_document(MARKDOWN.encode(), "text/markdown").title == "Guide"
    later_h1 = b"## Intro\n\ntext\n\n# Real title\n\nmore"
    assert extract_document(later_h1, "text/markdown").title == "Real title"
    assert extract_document(b"### Only h3\n\nx", "text/markdown").title == "Only h3"
    assert extract_document(b"no headings", "text/markdown").title is None


def test_markdown_images_outside_code_become_reference_parts() -> None:
    document = extract_document(MARKDOWN.encode(), "text/markdown")
    images = document.image_parts
    assert [image.reference for image in images] == ["img/arch.png", "https://example.org/logo.svg"]
    arch, logo = images
    assert (arch.alt_text, arch.caption, arch.data, arch.index) == (
        "Architecture",
        "The flow",
        b"",
        0,
    )
    assert arch.content_type == "image/png"
    assert arch.name == "arch.png"
    assert arch.context is not None
    assert "Run the installer." in arch.context
    assert (logo.alt_text, logo.caption, logo.index) == ("Logo", "Our logo", 1)
    assert logo.context is not None
    assert "Build it yourself." in logo.context


def test_markdown_image_context_is_trimmed() -> None:
    text = "# Long\n\n![pic](a.png)\n\n" + "lorem ipsum " * 200
    image = extract_document(text.encode(), "text/markdown").image_parts[0]
    assert image.context is not None
    assert len(image.context) <= 300


def test_markdown_image_count_is_capped_with_a_warning() -> None:
    text = "\n".join(f"![img {index}](img{index}.png)" for index in range(5))
    document = extract_document(
        text.encode(), "text/markdown", limits=ExtractionLimits(max_images_per_document=3)
    )
    assert [image.index for image in document.image_parts] == [0, 1, 2]
    assert any("over the limit 3" in warning for warning in document.warnings)


def test_markdown_by_file_name_without_content_type() -> None:
    document = extract_document(b"# Title\n\nBody", None, name="docs/page.md")
    assert document.title == "Title"


# --- HTML -----------------------------------------------------------------------------

PNG_1PX = base64.b64encode(b"\x89PNG fake payload").decode()

HTML = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>  The   Page </title>
<style>body {{ color: red }}</style><script>var x = "<p>not text</p>";</script></head>
<body>
<header><h1>Site banner</h1></header>
<nav><a href="/">Home</a></nav>
<main>
  <article>
    <header><h1>Streaming &amp; indexing</h1></header>
    <p>First   paragraph with <b>bold</b> and <a href="#">a link</a>.</p>
    <p>Second paragraph<br>on two lines.</p>
    <h2>Details</h2>
    <ul><li>one</li><li>two</li></ul>
    <figure><img src="/img/flow.png?v=2" alt="Data flow" width="640">
      <figcaption>How events flow</figcaption></figure>
    <img src="/pixel.gif" width="1" height="1" alt="tracker">
    <img src="data:image/png;base64,{PNG_1PX}" alt="inline">
    <pre>code  keeps
   its spaces</pre>
    <div hidden>secret</div>
    <noscript>enable js</noscript>
  </article>
</main>
<footer>Copyright</footer>
</body></html>"""


def test_html_main_text_drops_chrome_and_scripts() -> None:
    document = extract_document(HTML.encode(), "text/html")
    text = document.full_text
    assert "First paragraph with bold and a link." in text
    assert "Second paragraph\non two lines." in text
    for absent in (
        "Site banner",
        "Home",
        "Copyright",
        "not text",
        "color: red",
        "secret",
        "enable js",
    ):
        assert absent not in text
    assert "code  keeps\n   its spaces" in text
    assert_offsets_consistent(document)


def test_html_headings_start_sections() -> None:
    document = extract_document(HTML.encode(), "text/html")
    sections = [part.section for part in document.text_parts]
    assert sections == ["Streaming & indexing", "Streaming & indexing > Details"]
    details = document.text_parts[1].text
    assert details.startswith("Details\n\none\ntwo")


def test_html_title_from_title_element_then_h1() -> None:
    assert extract_document(HTML.encode(), "text/html").title == "The Page"
    no_title = b"<body><h1>Heading  one</h1><p>x</p></body>"
    assert extract_document(no_title, "text/html").title == "Heading one"


def test_html_images_with_captions_inline_data_and_tiny_ones_skipped() -> None:
    images = extract_document(HTML.encode(), "text/html").image_parts
    assert len(images) == 2
    figure, inline = images
    assert figure.reference == "/img/flow.png?v=2"
    assert (figure.alt_text, figure.caption, figure.name) == (
        "Data flow",
        "How events flow",
        "flow.png",
    )
    assert figure.content_type == "image/png"
    assert figure.data == b""
    assert figure.context is not None
    assert "Details" in figure.context
    assert inline.reference is None
    assert inline.data == b"\x89PNG fake payload"
    assert inline.content_type == "image/png"
    assert [image.index for image in images] == [0, 1]


def test_html_prefers_articles_when_there_is_no_main() -> None:
    page = b"""<body><div class="sidebar">Sidebar junk</div>
    <article><p>Story one.</p></article><article><p>Story two.</p></article></body>"""
    text = extract_document(page, "text/html").full_text
    assert "Story one." in text
    assert "Story two." in text
    assert "Sidebar" not in text


def test_html_without_main_or_article_uses_body() -> None:
    page = b"<html><body><p>Just a body.</p><footer>f</footer></body></html>"
    assert extract_document(page, "text/html").full_text == "Just a body."


def test_html_meta_charset_is_used_for_decoding() -> None:
    page = '<meta charset="windows-1252"><p>Smart “quotes”</p>'.encode("cp1252")
    assert "Smart “quotes”" in extract_document(page, "text/html").full_text


def test_html_tolerates_broken_markup() -> None:
    page = b"<p>Unclosed <b>bold <i>italic</p></div><p>Next</span> para"
    text = extract_document(page, "text/html").full_text
    assert "Unclosed bold italic" in text
    assert "Next para" in text
