"""CMS HTML on lxml (stream.cms.html_text): bodies kept as HTML, metadata as plain text."""

from __future__ import annotations

import time
from urllib.parse import urljoin

import pytest

from stream.cms.html_text import html_to_plain_text, prepare_html
from stream.cms.payloads import PayloadError


def _against_site(url: str) -> str:
    return urljoin("https://site.test/posts/1/", url)


def test_a_body_without_relative_images_is_sent_exactly_as_it_came() -> None:
    html = "<h2>Setup</h2><pre><code>&lt;script&gt;x()&lt;/script&gt;</code></pre>"
    body = prepare_html(html, _against_site)
    assert body.html == html
    assert body.has_text
    assert not body.has_images


def test_relative_image_urls_are_resolved_and_the_rest_is_kept() -> None:
    html = (
        "<p>a &lt;b&gt; c</p><img src='img/a.png' alt='A'>"
        "<img data-src='/lazy.png'><img src='https://cdn.test/abs.png'>"
        "<img src='data:image/png;base64,AAAA'>"
    )
    body = prepare_html(html, _against_site)
    assert 'src="https://site.test/posts/1/img/a.png"' in body.html
    assert 'data-src="https://site.test/lazy.png"' in body.html
    assert 'src="https://cdn.test/abs.png"' in body.html
    assert "a &lt;b&gt; c" in body.html  # escaped text stays escaped
    assert body.has_images


def test_a_url_that_cannot_be_resolved_refuses_the_body() -> None:
    def refuse(url: str) -> str:
        raise PayloadError(f"relative URL {url!r} cannot be resolved")

    with pytest.raises(PayloadError, match=r"img/a\.png"):
        prepare_html("<img src='img/a.png'>", refuse)


@pytest.mark.parametrize(
    "html",
    ["", "   ", "<p> </p><p>&nbsp;</p>", "<script>var x = 1;</script><style>p{}</style>"],
)
def test_bodies_without_text(html: str) -> None:
    body = prepare_html(html, _against_site)
    assert not body.has_text
    assert not body.has_images


def test_an_image_only_body_has_images_but_no_text() -> None:
    body = prepare_html("<figure><img src='/a.png'></figure>", _against_site)
    assert (body.has_text, body.has_images) == (False, True)


def test_title_is_the_title_element_then_the_first_h1() -> None:
    page = "<html><head><title>Page &amp; co</title></head><body><h1>H</h1></body></html>"
    assert prepare_html(page, _against_site).title == "Page & co"
    assert prepare_html("<h1>Main <em>heading</em></h1><h1>2</h1>", _against_site).title == (
        "Main heading"
    )
    assert prepare_html("<p>just text</p>", _against_site).title is None


def test_plain_text_of_a_title_decodes_entities_and_drops_tags() -> None:
    assert html_to_plain_text("Kafka &#8211; it&#8217;s <em>boring</em>") == ("Kafka – it’s boring")
    assert html_to_plain_text("<p>one</p><p>two</p><script>no</script>") == "one two"
    assert html_to_plain_text("") == ""


def test_nested_and_unclosed_markup_is_read_in_linear_time() -> None:
    hostile = "<div>" * 3000 + "x" + "<p><b>" * 20_000  # the 140 KB that took 14.6 s
    started = time.thread_time()
    body = prepare_html(hostile, _against_site)
    assert time.thread_time() - started < 1.0
    assert body.has_text


def test_the_entry_title_becomes_the_title_of_a_body_without_one() -> None:
    body = prepare_html("<h2>Install</h2><p>x</p>", _against_site, title="Fish & <chips>")
    assert body.html.startswith("<title>Fish &amp; &lt;chips&gt;</title>")
    assert body.title == "Fish & <chips>"
    page = "<html><head><title>Own</title></head><body>x</body></html>"
    assert prepare_html(page, _against_site, title="Entry").html == page
