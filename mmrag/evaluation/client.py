"""The HTTP side of ``mmrag eval``: ``POST /search`` and ``POST /ask`` on a running API.

Errors::

    EvaluationApiError          the API cannot be used for this evaluation
    ├── ApiUnreachable          no connection, or no answer in time
    └── ApiRejected             an HTTP error status (``status``, ``detail``)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx


class EvaluationApiError(RuntimeError):
    """The API cannot be used for this evaluation."""


class ApiUnreachable(EvaluationApiError):
    pass


class ApiRejected(EvaluationApiError):
    def __init__(self, path: str, status: int, detail: Any, errors: Any = None) -> None:
        super().__init__(f"POST {path} answered {status}: {detail}")
        self.path = path
        self.status = status
        self.detail = detail
        self.errors = errors if errors is not None else detail
        """The validation errors: the API's ``errors`` list (mmrag's 422 body) or
        FastAPI's default ``detail`` list."""


@dataclass(frozen=True)
class Timed:
    body: dict[str, Any]
    elapsed_ms: float
    """Wall time of the request as the client saw it."""


class EvaluationClient:
    """A synchronous client (one request at a time, so latencies are comparable)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self._base_url = base_url
        self._client = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout_s, transport=transport
        )

    def __enter__(self) -> EvaluationClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def search(self, body: dict[str, Any]) -> Timed:
        return self._post("/search", body)

    def ask(self, body: dict[str, Any]) -> Timed:
        return self._post("/ask", body)

    def _post(self, path: str, body: dict[str, Any]) -> Timed:
        started = time.perf_counter()
        try:
            response = self._client.post(path, json=body)
        except httpx.TransportError as error:
            raise ApiUnreachable(
                f"cannot reach the API at {self._base_url}: {error or type(error).__name__}"
            ) from error
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            detail, errors = _detail(response)
            raise ApiRejected(path, response.status_code, detail, errors)
        try:
            payload = response.json()
        except ValueError as error:
            raise EvaluationApiError(f"POST {path} did not answer JSON: {error}") from error
        if not isinstance(payload, dict):
            kind = type(payload).__name__
            raise EvaluationApiError(f"POST {path} answered a JSON {kind}, not an object")
        return Timed(payload, elapsed_ms)


def _detail(response: httpx.Response) -> tuple[Any, Any]:
    """The error's ``detail`` and, when given, its structured ``errors``."""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:500], None
    if not isinstance(payload, dict):
        return payload, None
    return payload.get("detail", payload), payload.get("errors")
