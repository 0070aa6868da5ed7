"""HTML → text and image references (stream.cms.html_text)."""

from __future__ import annotations

import pytest

from stream.cms.html_text import HtmlImage, HtmlText, html_to_text


def test_blocks_become_lines_and_inline_markup_joins() -> None:
    html = (
        "<h1>Title</h1><p>First <b>bold</b> and <a href='#'>linked</a> words.</p>"
        "<ul><li>one</li><li>two</li></ul><div>Last<br>line</div>"
    )
    assert html_to_text(html).text == ("Title\nFirst bold and linked words.\none\ntwo\nLast\nline")


@pytest.mark.parametrize("tag", ["script", "style", "noscript", "template"])
def test_non_text_elements_are_dropped(tag: str) -> None:
    html = f"<p>before</p><{tag}>var hidden = '<p>no</p>';</{tag}><p>after</p>"
    assert html_to_text(html).text == "before\nafter"


def test_entities_are_decoded_and_whitespace_collapsed_within_lines() -> None:
    html = "<p>  Fish &amp;\n\t chips&nbsp;&nbsp;&#8211; &quot;fresh&quot;  </p>"
    assert html_to_text(html).text == 'Fish & chips – "fresh"'


def test_empty_blocks_leave_no_blank_lines() -> None:
    assert html_to_text("<p> </p><div><p>text</p></div><p>&nbsp;</p>").text == "text"


def test_preformatted_text_keeps_its_line_breaks() -> None:
    assert html_to_text("<pre>a = 1\nb = 2</pre>").text == "a = 1\nb = 2"


def test_title_element_is_the_title_and_not_body_text() -> None:
    page = html_to_text("<html><head><title>Page &amp; co</title></head><body><p>x</p></body>")
    assert page.title == "Page & co"
    assert page.text == "x"


def test_first_h1_is_the_title_when_there_is_no_title_element() -> None:
    page = html_to_text("<h1>Main <em>heading</em></h1><h1>Second</h1><p>body</p>")
    assert page.title == "Main heading"
    assert page.text == "Main heading\nSecond\nbody"


def test_no_title_at_all() -> None:
    assert html_to_text("<p>just text</p>").title is None


def test_images_keep_src_and_alt_in_order() -> None:
    page = html_to_text(
        '<p><img src="https://x.test/a.png" alt="A cat"></p><img src="https://x.test/b.png"/>'
    )
    assert page.images == (
        HtmlImage("https://x.test/a.png", alt="A cat"),
        HtmlImage("https://x.test/b.png"),
    )


def test_image_title_is_the_alt_text_when_alt_is_missing() -> None:
    (image,) = html_to_text('<img src="/a.png" title="Hover text" alt="">').images
    assert image.alt == "Hover text"


def test_figure_caption_belongs_to_the_figures_images_and_stays_in_the_text() -> None:
    page = html_to_text(
        "<figure><img src='/chart.png' alt='Chart'>"
        "<figcaption>Sales <b>2026</b></figcaption></figure><p>after</p>"
        "<img src='/other.png'>"
    )
    assert page.images == (
        HtmlImage("/chart.png", alt="Chart", caption="Sales 2026"),
        HtmlImage("/other.png"),
    )
    assert page.text == "Sales 2026\nafter"


def test_relative_sources_resolve_against_base_url() -> None:
    page = html_to_text(
        '<img src="/up/a.png"><img src="b.png"><img src="https://cdn.test/c.png">',
        base_url="https://blog.test/2026/post/",
    )
    assert [image.src for image in page.images] == [
        "https://blog.test/up/a.png",
        "https://blog.test/2026/post/b.png",
        "https://cdn.test/c.png",
    ]


def test_relative_sources_stay_relative_without_base_url() -> None:
    assert html_to_text('<img src="/up/a.png">').images[0].src == "/up/a.png"


def test_data_uris_and_empty_sources_are_not_images_and_duplicates_collapse() -> None:
    page = html_to_text(
        '<img src="data:image/png;base64,AAAA"><img src=""><img>'
        '<img src="/a.png" alt="first"><img src="/a.png" alt="again">'
    )
    assert page.images == (HtmlImage("/a.png", alt="first"),)


def test_lazy_loaded_images_use_data_src() -> None:
    assert html_to_text('<img data-src="/lazy.jpg">').images[0].src == "/lazy.jpg"


def test_broken_html_still_gives_its_text() -> None:
    page = html_to_text("<p>open <b>bold <i>italic</p><li>item<div>unclosed")
    assert page.text == "open bold italic\nitem\nunclosed"


def test_empty_input() -> None:
    assert html_to_text("") == HtmlText(text="", title=None, images=())
