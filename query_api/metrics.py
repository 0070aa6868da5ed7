"""Prometheus metrics of the API, in the app's own registry (no global state, so several
apps, e.g. in tests, never collide), and the ASGI middleware that records requests."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted under their own name; any other is ``other`` (a client choosing the
method must not be able to grow the label set)."""
ENDPOINT_SCOPE_KEY = "mmrag.endpoint"
"""Where a middleware that answers before routing names the route template."""
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mmrag_api_requests_total",
            "HTTP requests by route template, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mmrag_api_request_seconds",
            "HTTP request latency by route template (to the end of the body).",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.search_latency = Histogram(
            "mmrag_search_seconds",
            "Search latency inside the API (embed + retrieve + fuse + fetch), by mode.",
            ["mode"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.search_stage = Histogram(
            "mmrag_search_stage_seconds",
            "Search latency by stage: embed, retrieve, fetch.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (``/images/{chunk_id}``,
    not the concrete path; ``static`` for anything else) and a known method, so label
    cardinality stays bounded whatever clients send."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_recording)
        finally:
            endpoint = _endpoint(scope)
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            self._metrics.requests.labels(endpoint, method, str(status)).inc()
            self._metrics.latency.labels(endpoint).observe(time.perf_counter() - started)


def _endpoint(scope: dict[str, Any] | Scope) -> str:
    """The route template that served the request; for one answered before routing (a
    401, 413 or 429 from ``RequestGuard``) the template the guard names; else ``static``
    (``/`` for the page itself)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    named = scope.get(ENDPOINT_SCOPE_KEY)
    if isinstance(named, str):
        return named
    return "static" if scope.get("path", "/") != "/" else "/"
