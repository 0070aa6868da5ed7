"""HTML extraction on real documentation pages (Sphinx, DocBook, MkDocs), and its limits.

The fixtures are real pages from Debian's documentation packages, trimmed (fewer
paragraphs and menu entries) with their structure kept: ``postgresql-doc-15`` (DocBook
XSL), ``python-click-doc`` (Sphinx, classic layout), ``python-doc8-doc`` (Sphinx, Read the
Docs theme), ``mkdocs-literate-nav-doc`` (MkDocs, material theme) and ``mkdocs-doc``
(MkDocs, its default theme).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from indexer.documents import ExtractedDocument
from indexer.extract import extract_document
from indexer.extract.titles import choose_title, strip_numbering

FIXTURES = Path(__file__).parent / "fixtures" / "html"


def extract(name: str) -> ExtractedDocument:
    return extract_document((FIXTURES / name).read_bytes(), "text/html", name=name)


def assert_clean(document: ExtractedDocument, *absent: str) -> None:
    text = document.full_text
    for phrase in absent:
        assert phrase not in text, phrase
    for part in document.text_parts:
        assert part.section is None or not any(mark in part.section for mark in "¶#§")
        assert "¶" not in part.text


def test_docbook_postgresql_section_page() -> None:
    document = extract("docbook_postgresql_tutorial_join.html")
    assert document.title == "Joins Between Tables"
    text = document.full_text
    assert text.startswith("2.6. Joins Between Tables\n\nThus far, our queries")
    assert "SELECT * FROM weather JOIN cities ON city = name;" in text
    assert "This is only a conceptual model." in text  # the footnote is content
    assert_clean(document, "Prev", "Next", "Home", "Up\n", "2.5. Querying a Table")
    assert "Aggregate Functions" not in text  # the navigation footer's next page
    # the chapter (DocBook's "Up" link) heads the path
    assert [part.section for part in document.text_parts] == [
        "The SQL Language > 2.6. Joins Between Tables"
    ]


def test_docbook_chapter_page_keeps_its_table_of_contents() -> None:
    document = extract("docbook_postgresql_chapter.html")
    assert document.title == "The SQL Language"
    text = document.full_text
    assert "2.3. Creating a New Table" in text  # the TOC is all the page has
    assert_clean(document, "Prev", "Home", "1.4. Accessing a Database")


def test_sphinx_classic_page() -> None:
    document = extract("sphinx_click_prompts.html")
    assert document.title == "User Input Prompts"
    assert [part.section for part in document.text_parts] == [
        "User Input Prompts",
        "User Input Prompts > Option Prompts",
        "User Input Prompts > Input Prompts",
        "User Input Prompts > Confirmation Prompts",
    ]
    text = document.full_text
    assert "click.prompt('Please enter a valid integer', type=int)" in text
    assert_clean(
        document,
        "Navigation",
        "next |",
        "Quick search",
        "Commands and Groups",  # previous chapter, in the sidebar
        "Copyright",
        "Created using",
    )


def test_sphinx_read_the_docs_page() -> None:
    document = extract("sphinx_rtd_doc8_installation.html")
    assert document.title == "Installation"
    text = document.full_text
    assert "$ pip install doc8" in text
    assert "virtualenvwrapper" in text
    assert_clean(
        document, "View page source", "Contributing", "Previous", "Copyright", "Built with"
    )


def test_mkdocs_material_page() -> None:
    document = extract("mkdocs_material_literate_nav_reference.html")
    assert document.title == "Reference"
    sections = [part.section for part in document.text_parts]
    assert sections[0] == "Reference > Literate nav syntax"
    assert "Reference > Literate nav syntax > Wildcards > Subdirectory cross-link" in sections
    text = document.full_text
    assert "The literate nav file must be a Markdown file" in text
    assert_clean(document, "Search", "Previous", "Made with", "Overview", "Edit this page")


def test_mkdocs_default_theme_page() -> None:
    document = extract("mkdocs_default_getting_started.html")
    assert document.title == "Getting Started"
    assert document.text_parts[0].section == "Getting Started with MkDocs"
    text = document.full_text
    assert "pip install mkdocs" in text
    assert_clean(
        document, "Toggle navigation", "Keyboard Shortcuts", "Copyright", "Next page", "Search..."
    )


def test_generic_navigation_table_and_permalinks_are_dropped() -> None:
    page = b"""<html><head><title>Widgets | Acme Docs</title></head><body>
    <a class="skip" href="#content">Skip to content</a>
    <table><tr><td><a href="a.html">Prev</a></td><td><a href="b.html">Next</a></td>
    <td><a href="index.html">Home</a></td></tr></table>
    <h1 id="w">Widgets<a href="#w">\xc2\xb6</a></h1><p>Widgets turn.</p>
    <h2 id="s">Sizes <a href="#s">#</a></h2><p>Three sizes.</p>
    <p>See the <a href="next.html">next</a> chapter for more.</p>
    </body></html>"""
    document = extract_document(page, "text/html")
    assert document.title == "Widgets"
    assert [part.section for part in document.text_parts] == ["Widgets", "Widgets > Sizes"]
    assert document.full_text == (
        "Widgets\n\nWidgets turn.\n\nSizes\n\nThree sizes.\n\nSee the next chapter for more."
    )


def test_table_of_contents_is_dropped_when_the_page_has_content() -> None:
    page = b"""<body><h1>Guide</h1><div class="toc"><dl><dt><a href="a.html">1. Install</a>
    </dt></dl></div><p>Read this first.</p></body>"""
    document = extract_document(page, "text/html")
    assert document.full_text == "Guide\n\nRead this first."


@pytest.mark.parametrize(
    ("title", "headings", "expected"),
    [
        ("Installation — doc8  documentation", ["Installation"], "Installation"),
        (
            "PostgreSQL: Documentation: 15: 2.6. Joins Between Tables",
            ["x", "2.6. Joins Between Tables"],
            "Joins Between Tables",
        ),
        ("Getting started - MkDocs", [], "Getting started"),
        ("Introduction to Foo — Site", ["Introduction"], "Introduction to Foo"),
        ("Chapter 2. The SQL Language", [], "The SQL Language"),
        (None, ["F.1. adminpack"], "adminpack"),
        ("  ", ["Install ¶"], "Install"),
        (None, [], None),
    ],
)
def test_choose_title(title: str | None, headings: list[str], expected: str | None) -> None:
    assert choose_title(title, headings) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("2.6. Joins Between Tables", "Joins Between Tables"),
        ("Part III. Server Administration", "Server Administration"),
        ("A note on style", "A note on style"),
        ("3 ways to win", "3 ways to win"),
        ("1.", "1."),
    ],
)
def test_strip_numbering(title: str, expected: str) -> None:
    assert strip_numbering(title) == expected


# --- linear time ----------------------------------------------------------------------


def _timed(data: bytes) -> tuple[ExtractedDocument, float]:
    started = time.process_time()
    document = extract_document(data, "text/html")
    return document, time.process_time() - started


def test_deeply_nested_divs_extract_without_recursion_error() -> None:
    document, _ = _timed(b"<div>" * 3000 + b"<p>deep text</p>")
    assert "deep text" in document.full_text
    assert any("HTML parser's limits" in warning for warning in document.warnings)


def test_140_kb_of_unclosed_nested_markup_loses_no_text() -> None:
    document, seconds = _timed(b"<div><p>word " * 14_000)
    assert document.full_text.split() == ["word"] * 14_000
    assert seconds < 2


def test_a_megabyte_of_markup_extracts_within_budget() -> None:
    line = b"<p>Some words <b>in bold</b> and <a href='#x'>a link</a>.\n"
    document, seconds = _timed(line * (1024 * 1024 // len(line)))
    assert document.full_text.count("Some words in bold and a link.") == 1024 * 1024 // len(line)
    assert seconds < 2
    document, seconds = _timed(b"<div><span>word " * 70_000)
    assert len(document.full_text.split()) == 70_000
    assert seconds < 4


def test_the_parent_page_heads_every_heading_path() -> None:
    page = b"""<html><head><title>1.1. Introduction</title>
    <link rel="up" href="gin.html" title="Chapter 70. GIN Indexes"></head>
    <body><h2>70.1. Introduction</h2><p>GIN stands for ...</p><h3>Terms</h3><p>t</p></body>"""
    document = extract_document(page, "text/html")
    assert document.title == "Introduction"
    assert [part.section for part in document.text_parts] == [
        "GIN Indexes > 70.1. Introduction",
        "GIN Indexes > 70.1. Introduction > Terms",
    ]
    chapter = extract("docbook_postgresql_chapter.html")
    assert chapter.text_parts[0].section == "Tutorial > Chapter 2. The SQL Language"


def test_icon_titles_and_linked_images_are_not_mistaken_for_chrome() -> None:
    page = b"""<html><body><svg><title>Search icon</title></svg><h1>Real title</h1>
    <p>See <a href="#fig"><img src="fig.png" alt="The figure"></a></p></body></html>"""
    document = extract_document(page, "text/html")
    assert document.title == "Real title"
    assert [image.alt_text for image in document.image_parts] == ["The figure"]


def test_the_title_heading_heads_later_sections_of_the_same_level() -> None:
    """A DocBook reference page: the command's name and its sections are all ``<h2>``."""
    page = b"""<html><head><title>SELECT</title></head><body>
    <div class="navheader"><a accesskey="u" href="sql-commands.html" title="SQL Commands">Up</a>
    </div><div class="refentry"><div class="refnamediv"><h2><span class="refentrytitle">SELECT
    </span></h2><p>SELECT, TABLE, WITH \xe2\x80\x94 retrieve rows</p></div>
    <div class="refsynopsisdiv"><h2>Synopsis</h2><pre>SELECT expression</pre></div>
    <div class="refsect1"><h2>Description</h2><p>SELECT retrieves rows.</p>
    <div class="refsect2"><h3>WITH Clause</h3><p>The WITH clause ...</p></div></div></div>
    </body></html>"""
    document = extract_document(page, "text/html")
    assert document.title == "SELECT"
    assert [part.section for part in document.text_parts] == [
        "SQL Commands > SELECT",
        "SQL Commands > SELECT > Synopsis",
        "SQL Commands > SELECT > Description",
        "SQL Commands > SELECT > Description > WITH Clause",
    ]


def test_generated_indexes_of_terms_are_not_content() -> None:
    """DocBook's book index and Sphinx's genindex list every term with its links."""
    page = b"""<html><head><title>Index</title></head><body><div class="index">
    <div class="titlepage"><h2>Index</h2></div><div class="indexdiv"><h3>A</h3><dl>
    <dt>ABORT, <a href="sql-abort.html">ABORT</a></dt><dt>aggregate function, <a>Aggregate
    Functions</a></dt></dl></div></div>
    <table class="indextable genindextable"><tr><td><a href="api.html">abort()</a></td></tr>
    </table><p>Every term of the manual.</p></body></html>"""
    document = extract_document(page, "text/html")
    assert document.full_text == "Index\n\nEvery term of the manual."


def test_a_note_box_heading_labels_the_box_and_starts_no_section() -> None:
    """DocBook admonitions: ``<div class="note"><h3 class="title">Note</h3>``."""
    page = b"""<body><h2>9.4. String Functions</h2><p>Intro.</p>
    <div class="note"><h3 class="title">Note</h3><p>Mind the collation.</p></div>
    <p>bit_length ( text ) returns the number of bits.</p><h3>9.4.1. format</h3><p>f</p></body>"""
    document = extract_document(page, "text/html")
    assert [part.section for part in document.text_parts] == [
        "9.4. String Functions",
        "9.4. String Functions > 9.4.1. format",
    ]
    assert document.text_parts[0].text == (
        "9.4. String Functions\n\nIntro.\n\nNote\n\nMind the collation.\n\n"
        "bit_length ( text ) returns the number of bits."
    )
