"""Hits, snippets, passages, citations, query images, thumbnails and the CLI's SSE reader."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from httpx_sse import SSEError
from PIL import Image

from mmrag.query_commands import answer_events
from query_api.answering import citations_for, passages_from
from query_api.errors import InvalidQuery, PayloadTooLarge
from query_api.fusion import FusedHit
from query_api.hits import chunk_from_source, snippet, to_hit
from query_api.images import (
    ThumbnailCache,
    decode_base64_image,
    decode_query_image,
    make_thumbnail,
)
from query_api.schemas import Retriever

SOURCE = {
    "chunk_id": "c1",
    "doc_id": "d1",
    "modality": "image",
    "uri": "file:///srv/report.pdf",
    "title": "Report",
    "source": "fs:docs",
    "page": 2,
    "bbox": [1, 2, 3, 4],
    "text": "",
    "context": "The red circle diagram shows throughput.",
}


def test_an_image_chunk_becomes_a_hit_with_a_thumbnail_url() -> None:
    chunk = chunk_from_source(SOURCE, FusedHit("c1", 0.03, {Retriever.CLIP_KNN: 1}))
    hit = to_hit(chunk, snippet_length=300)
    assert hit.modality == "image"
    assert hit.image_url == "/images/c1"
    assert hit.bbox == [1.0, 2.0, 3.0, 4.0]
    assert hit.snippet == "The red circle diagram shows throughput."
    assert hit.retrievers == {Retriever.CLIP_KNN: 1}


def test_a_text_chunk_has_no_image_url() -> None:
    source = {**SOURCE, "modality": "text", "text": "Kafka  keeps\norder."}
    hit = to_hit(chunk_from_source(source, FusedHit("c1", 0.1)), snippet_length=300)
    assert hit.image_url is None
    assert hit.snippet == "Kafka keeps order."


def test_grouped_hits_carry_match_counts_and_next_chunks() -> None:
    source = {**SOURCE, "modality": "text", "text": "one"}
    grouped = chunk_from_source(
        source, FusedHit("c1", 0.1), matched_chunks=3, next_chunk_ids=("c7", "c9")
    )
    hit = to_hit(grouped, snippet_length=300)
    assert (hit.matched_chunks, hit.next_chunk_ids) == (3, ["c7", "c9"])
    plain = to_hit(chunk_from_source(source, FusedHit("c1", 0.1)), snippet_length=300)
    assert (plain.matched_chunks, plain.next_chunk_ids) == (None, None)


def test_snippets_cut_at_a_word_boundary() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    assert snippet(text, 100) == text
    assert snippet(text, 20) == "alpha beta gamma…"
    assert snippet("   ", 20) is None
    assert snippet("x" * 50, 20) == "x" * 20 + "…"


def test_passages_are_numbered_and_citations_only_name_retrieved_ones() -> None:
    chunks = [
        chunk_from_source({**SOURCE, "modality": "text", "text": "one"}, FusedHit("a", 0.2)),
        chunk_from_source(SOURCE, FusedHit("b", 0.1)),
    ]
    passages = passages_from(chunks)
    assert [(p.number, p.chunk_id, p.text) for p in passages] == [
        (1, "a", "one"),
        (2, "b", "The red circle diagram shows throughput."),
    ]
    assert passages[1].image_url == "/images/b"
    citations = citations_for([2, 7, 1, 2], passages)
    assert [(c.number, c.chunk_id) for c in citations] == [(2, "b"), (1, "a")]


def _png(size: tuple[int, int] = (300, 200), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_base64_images_decode_with_or_without_a_data_url() -> None:
    data = _png()
    encoded = base64.b64encode(data).decode()
    assert decode_base64_image(encoded, max_bytes=10**6) == data
    assert decode_base64_image("data:image/png;base64," + encoded, max_bytes=10**6) == data
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert decode_base64_image(wrapped, max_bytes=10**6) == data


def test_bad_or_oversize_base64_images_are_4xx() -> None:
    with pytest.raises(InvalidQuery, match="base64"):
        decode_base64_image("not base64!!", max_bytes=10**6)
    with pytest.raises(PayloadTooLarge):
        decode_base64_image(base64.b64encode(b"x" * 2000).decode(), max_bytes=1000)
    with pytest.raises(InvalidQuery, match="empty"):
        decode_base64_image("", max_bytes=1000)


def test_query_images_decode_to_rgb_within_the_side_limit() -> None:
    image = decode_query_image(_png((2000, 1000), "RGBA"), max_side=512, max_pixels=10**8)
    assert image.mode == "RGB"
    assert max(image.size) == 512


@pytest.mark.parametrize(
    "data",
    [b"hello", b"%PDF-1.7 not an image", b"<svg xmlns='http://www.w3.org/2000/svg'/>"],
)
def test_undecodable_query_images_are_422(data: bytes) -> None:
    with pytest.raises(InvalidQuery, match="query image"):
        decode_query_image(data, max_side=512, max_pixels=10**8)


def test_too_many_pixels_is_422() -> None:
    with pytest.raises(InvalidQuery, match="pixels"):
        decode_query_image(_png((400, 400)), max_side=512, max_pixels=1000)


def test_thumbnails_are_small_jpegs() -> None:
    thumbnail = make_thumbnail(_png((1200, 600)), max_side=256, max_pixels=10**8)
    image = Image.open(io.BytesIO(thumbnail))
    assert image.format == "JPEG"
    assert image.size == (256, 128)


def test_thumbnail_cache_evicts_the_least_recently_used() -> None:
    cache = ThumbnailCache(2)
    cache.put(("a", "1"), b"A")
    cache.put(("b", "1"), b"B")
    assert cache.get(("a", "1")) == b"A"
    cache.put(("c", "1"), b"C")
    assert cache.get(("b", "1")) is None
    assert cache.get(("a", "1")) == b"A"
    assert len(cache) == 2
    disabled = ThumbnailCache(0)
    disabled.put(("a", "1"), b"A")
    assert disabled.get(("a", "1")) is None


def _event_stream(body: str, content_type: str = "text/event-stream") -> httpx.Response:
    return httpx.Response(200, headers={"content-type": content_type}, content=body.encode())


def test_sse_lines_become_events() -> None:
    body = (
        'event: token\ndata: {"text": "Hello"}\n\n'
        ": ping\r\n\r\n"
        'event: done\r\ndata: {"generator": "extractive",\r\ndata:  "took_ms": 3}\r\n\r\n'
    )
    assert list(answer_events(_event_stream(body))) == [
        ("token", {"text": "Hello"}),
        ("done", {"generator": "extractive", "took_ms": 3}),
    ]


def test_an_answer_that_is_not_an_event_stream_is_an_error() -> None:
    with pytest.raises(SSEError, match="application/json"):
        list(answer_events(_event_stream('{"answer": "hi"}', "application/json")))
