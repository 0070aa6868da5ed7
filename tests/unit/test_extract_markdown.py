"""Markdown extraction on markdown-it-py: structure, images, code, and linear time."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from indexer.extract import extract_document
from indexer.extract.markdown import find_images


def _markdown(text: str) -> tuple[list[str | None], list[str]]:
    document = extract_document(text.encode(), "text/markdown")
    return [part.section for part in document.text_parts], [
        part.text for part in document.text_parts
    ]


def test_setext_headings_start_sections() -> None:
    sections, texts = _markdown("Guide\n=====\n\nintro\n\nInstall\n-------\n\nrun it\n")
    assert sections == ["Guide", "Guide > Install"]
    assert texts[1] == "Install\n-------\n\nrun it"


def test_headings_in_indented_code_blocks_and_quotes_are_not_sections() -> None:
    text = "# Top\n\n    # indented code\n\n> # quoted\n\nbody\n"
    sections, texts = _markdown(text)
    assert sections == ["Top"]
    assert texts == [text.rstrip()]


def test_code_blocks_are_kept_verbatim() -> None:
    code = "```html\n<script>alert('&lt;x&gt;')</script>\n\n\n  # indented\n```"
    _, texts = _markdown(f"# Code\n\n{code}\n\nafter\n")
    assert code in texts[0]


def test_heading_closing_hashes_and_inline_markup_stay_in_the_path() -> None:
    sections, _ = _markdown("# Guide #\n\n## Use *the* CLI ##\n\ntext\n")
    assert sections == ["Guide > Use *the* CLI"]


def test_images_inline_reference_collapsed_and_shortcut() -> None:
    text = (
        '![one](a.png "First")\n\n'
        "![two][logo] ![Logo][] ![logo]\n\n"
        "[logo]: https://example.org/logo.svg\n"
    )
    images = find_images(text)
    assert [(i.source, i.alt, i.title) for i in images] == [
        ("a.png", "one", "First"),
        ("https://example.org/logo.svg", "two", None),
        ("https://example.org/logo.svg", "Logo", None),
        ("https://example.org/logo.svg", "logo", None),
    ]


def test_escaped_code_and_unsafe_images_are_not_images() -> None:
    text = (
        "\\![escaped](no1.png) `![code](no2.png)`\n\n"
        "    ![indented](no3.png)\n\n"
        "![file](file:///etc/passwd) ![js](javascript:alert(1))\n\n"
        "![kept](ok.png)\n"
    )
    assert [image.source for image in find_images(text)] == ["ok.png"]


def test_image_sources_are_kept_as_written() -> None:
    text = "![a](<images/über plan.png>) ![b](img/%C3%BC.png)"
    assert [image.source for image in find_images(text)] == [
        "images/über plan.png",
        "img/%C3%BC.png",
    ]


def test_images_in_lists_headings_and_quotes_belong_to_their_section() -> None:
    text = "# A\n\n- item ![in list](l.png)\n\n# B ![in heading](h.png)\n\n> ![quoted](q.png)\n"
    document = extract_document(text.encode(), "text/markdown")
    assert [(image.reference, image.context) for image in document.image_parts] == [
        ("l.png", "# A - item ![in list](l.png)"),
        ("h.png", "# B ![in heading](h.png) > ![quoted](q.png)"),
        ("q.png", "# B ![in heading](h.png) > ![quoted](q.png)"),
    ]


def test_an_image_nested_in_alt_text_still_finds_the_outer_image() -> None:
    images = find_images("![a ![b](c.png) d](e.png)")
    assert [(image.source, image.alt) for image in images] == [("e.png", "a ![b](c.png) d")]


# --- linear time --------------------------------------------------------------------------
# CPU time of this thread (not wall time), so other processes on the machine do not count.
# The quadratic parser took 8.2 s for the 30 KB heading and 6.2 s for 60 KB of "![".


def _cpu_seconds(function: Callable[[], object]) -> float:
    started = time.thread_time()
    function()
    return time.thread_time() - started


def _realistic_megabyte() -> str:
    section = (
        "## Section {n}\n\n"
        + "Streaming indexers keep search fresh; *each* change is an event. " * 12
        + '\n\n![Diagram {n}](img/diagram-{n}.png "The flow") and a [link](https://x.org).\n\n'
        + "```python\nfor event in stream:\n    index(event)  # ![not](an-image.png)\n```\n\n"
        + "- a list item\n- another with `code`\n\n"
    )
    parts: list[str] = ["# A big document\n\n"]
    size, n = 0, 0
    while size < 1_000_000:
        parts.append(section.format(n=n))
        size += len(parts[-1])
        n += 1
    return "".join(parts)


@pytest.mark.parametrize(
    ("name", "text", "limit_s"),
    [
        ("30 KB heading line", "# " + "word " * 6_000 + "\n", 1.0),
        ("30 KB of '#a' after a heading mark", "# " + "#a" * 15_000 + "\n", 1.0),
        ("60 KB of '![' ", "![" * 30_000, 1.0),
        ("1 MB of '!['", "![" * 500_000, 3.0),
        ("1 MB of '[' ", "[" * 1_000_000, 3.0),
        ("300 KB of '![' with a ']' every 21 chars", ("![" * 10 + "]") * 14_300, 3.0),
    ],
)
def test_hostile_markdown_is_parsed_in_linear_time(name: str, text: str, limit_s: float) -> None:
    data = text.encode()
    seconds = _cpu_seconds(lambda: extract_document(data, "text/markdown"))
    assert seconds < limit_s, f"{name}: {seconds:.2f} s"


def test_a_realistic_megabyte_is_extracted_in_under_three_seconds() -> None:
    text = _realistic_megabyte()
    document = extract_document(text.encode(), "text/markdown")
    seconds = _cpu_seconds(lambda: extract_document(text.encode(), "text/markdown"))
    assert seconds < 3.0, f"{seconds:.2f} s"
    assert len(document.text_parts) > 400
    assert document.image_parts[0].reference == "img/diagram-0.png"


def test_cost_grows_linearly_with_hostile_input() -> None:
    unit = "![" * 10 + "]"
    small = _cpu_seconds(lambda: find_images(unit * 2_500))
    large = _cpu_seconds(lambda: find_images(unit * 10_000))
    assert large < small * 4 * 2.5, f"4x the input took {large / small:.1f}x the time"
