"""``RequestGuard``: what is checked before a route runs, at the ASGI level.

In this order, each answered without reading the body:

1. **The API key**, when one is required (``MMRAG_API_REQUIRE_API_KEY``; for ``/health``
   and ``/metrics``, ``MMRAG_API_PROTECT_OPS``): 401 before a single body byte is read, so
   an unauthenticated caller cannot make the API buffer a large body.
2. **Anonymous thumbnails** (``/images/…`` without a key) are rate-limited per client
   address by a token bucket (``MMRAG_API_ANONYMOUS_IMAGE_RATE``/``_BURST``): 429 with
   ``Retry-After``.
3. **The body size**: a ``Content-Length`` over the route's limit is a 413 at once; a body
   without one (chunked) is counted as it streams in and stops with a 413 as soon as it
   goes over. ``/search`` may carry an image (``max_upload_bytes``, base64 or multipart),
   every other route ``max_body_bytes``.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from query_api.access import API_KEY_HEADER, identify_caller
from query_api.errors import Unauthorized
from query_api.metrics import ENDPOINT_SCOPE_KEY
from query_api.search_input import body_limit
from query_api.settings import ApiSettings

TEMPLATES = {"/documents/": "/documents/{doc_id}", "/images/": "/images/{chunk_id}"}
"""Route templates by path prefix, for the metrics of requests answered here."""
API_PATHS = ("/search", "/ask")
OPS_PATHS = ("/health", "/metrics")
MAX_TRACKED_CLIENTS = 10_000


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body goes over its limit (an
    ``HTTPException``, so FastAPI's body parsing passes it on as the 413 it is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is over the {limit} byte limit")


def protects_ops(settings: ApiSettings) -> bool:
    """Whether ``/health`` and ``/metrics`` need a key (by default: when the API does)."""
    return settings.require_api_key if settings.protect_ops is None else settings.protect_ops


class TokenBuckets:
    """One token bucket per client: ``rate`` tokens a second, at most ``burst`` saved.
    Only the most recently seen ``max_clients`` are remembered (a forgotten client starts
    with a full bucket, which is what an idle one would have anyway)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = Lock()

    def take(self, client: str) -> float:
        """0 when ``client`` may go ahead (a token is spent), else the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - then) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            if wait == 0.0:
                tokens -= 1
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            return wait


class RequestGuard:
    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self._app = app
        self._settings = settings
        self._protect_ops = protects_ops(settings)
        self._buckets = (
            TokenBuckets(settings.anonymous_image_rate, settings.anonymous_image_burst)
            if settings.anonymous_image_rate > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        key = headers.get(API_KEY_HEADER)
        template = _template(path)
        if template is not None:
            scope[ENDPOINT_SCOPE_KEY] = template
        is_ops = path in OPS_PATHS
        is_api = template is not None and not is_ops
        if is_api or (is_ops and self._protect_ops):
            try:
                identify_caller(
                    key, self._settings.api_keys, required=is_ops or self._settings.require_api_key
                )
            except Unauthorized as error:
                await _answer(send, 401, error.reason)
                return
        if self._buckets is not None and path.startswith("/images/") and not key:
            client = scope.get("client")
            wait = self._buckets.take(client[0] if client else "unknown")
            if wait > 0:
                reason = "too many thumbnails for an anonymous caller: slow down or send a key"
                retry = str(max(1, math.ceil(wait)))
                await _answer(send, 429, reason, [(b"retry-after", retry.encode())])
                return
        limit = self.body_limit(path)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, f"request body is over the {limit} byte limit")
            return
        await self._counted(scope, receive, send, limit)

    def body_limit(self, path: str) -> int:
        if path == "/search":
            return body_limit(self._settings.max_upload_bytes)
        return self._settings.max_body_bytes

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, counting_receive, tracking_send)
        except BodyTooLarge as error:
            if started:
                raise
            await _answer(send, 413, str(error.detail))


def _template(path: str) -> str | None:
    """The API route template ``path`` belongs to (``None``: the page or a static file)."""
    if path in API_PATHS or path in OPS_PATHS:
        return path
    for prefix, template in TEMPLATES.items():
        if path.startswith(prefix) and "/" not in path[len(prefix) :]:
            return template
    return None


async def _answer(
    send: Send, status: int, reason: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A JSON ``{"detail": reason}`` answer, as the app's error handler writes them."""
    body = json.dumps({"detail": reason}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
