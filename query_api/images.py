"""Query images in, thumbnails out (CPU-bound: callers run these in a worker thread).

Decoding goes through the indexer's ``load_rgb_for_model``, with the same guards as
indexing (raster formats only, a pixel limit before decoding, JPEG draft mode), so a query
image is read exactly as an indexed one and a hostile upload is a 4xx, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from PIL import Image

from indexer.errors import IndexerError
from indexer.extract import load_rgb_for_model
from query_api.errors import InvalidQuery, PayloadTooLarge


def decode_base64_image(encoded: str, *, max_bytes: int) -> bytes:
    """The bytes of a base64 image (a ``data:`` URL prefix is accepted); 413 when over."""
    payload = encoded.strip()
    if payload.startswith("data:"):
        _, _, payload = payload.partition(",")
    if len(payload) > (max_bytes * 4) // 3 + 4:
        raise PayloadTooLarge(f"image is over the {max_bytes} byte upload limit")
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidQuery(f"image_base64 is not valid base64: {error}") from error
    return check_upload_size(data, max_bytes=max_bytes)


def check_upload_size(data: bytes, *, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"image has {len(data)} bytes, over the {max_bytes} byte limit")
    if not data:
        raise InvalidQuery("the query image is empty")
    return data


def decode_query_image(data: bytes, *, max_side: int, max_pixels: int) -> Image.Image:
    """An RGB image for the CLIP image tower; undecodable or unsupported → 422."""
    try:
        return load_rgb_for_model(data, max_side=max_side, max_pixels=max_pixels)
    except IndexerError as error:
        raise InvalidQuery(f"the query image cannot be used: {error.reason}") from error
    except Exception as error:  # Pillow raises many types for hostile input
        raise InvalidQuery(f"the query image cannot be decoded: {error}") from error


def make_thumbnail(data: bytes, *, max_side: int, max_pixels: int) -> bytes:
    """A JPEG whose longest side is at most ``max_side`` (transparency on white)."""
    image = load_rgb_for_model(data, max_side=max_side, max_pixels=max_pixels)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()


class ThumbnailCache:
    """A small thread-safe LRU of encoded thumbnails (by chunk id and image hash, so a
    re-indexed image never serves its old thumbnail)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], thumbnail: bytes) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            self._items[key] = thumbnail
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class FailureCache:
    """Why an image could not be served, remembered for ``ttl_s`` seconds (by chunk id and
    image hash), so that a caller repeating the request costs no read or extraction."""

    def __init__(
        self, capacity: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._lock = Lock()

    def get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if found[0] <= self._clock():
                del self._items[key]
                return None
            return found[1]

    def put(self, key: tuple[str, str], reason: str) -> None:
        if self._capacity <= 0 or self._ttl_s <= 0:
            return
        with self._lock:
            self._items[key] = (self._clock() + self._ttl_s, reason)
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
