"""An ``LLM`` over any OpenAI-compatible chat-completions server (vLLM, llama.cpp server,
Ollama, TGI, OpenAI …), streamed with Server-Sent Events.

Errors, by what to do about them:

- connect errors, timeouts, 5xx and 429 *before the first token* → retried
  ``max_retries`` times with exponential backoff (``Retry-After`` honoured, capped);
- anything else before the first token (4xx, a malformed reply) → ``LLMUnavailable`` at once;
- any failure *after* a token was yielded → ``LLMUnavailable`` at once: the caller has
  already shown part of the answer, and a retry would repeat or contradict it.

Credentials: user-info in ``MMRAG_LLM_URL`` (``https://user:key@host/v1``) is taken out of
the URL and sent as HTTP Basic authentication (unless ``MMRAG_LLM_API_KEY`` is set, which
is sent as a bearer token instead), so the URL that is requested and logged carries none.
Every error message and log line is ``redact``-ed with the key and password known, since
an upstream's error body may echo them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from query_api.generation.base import LLMUnavailable
from query_api.generation.redaction import redact, url_credentials
from query_api.generation.settings import GenerationSettings

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 10.0


class _Retryable(Exception):
    """A failure before the first token that a retry may cure."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenAICompatibleLLM:
    """Streams ``POST {url}/chat/completions``. The HTTP client is created on first use;
    call ``aclose()`` at shutdown."""

    def __init__(
        self,
        settings: GenerationSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_s: float = 0.5,
    ) -> None:
        if not settings.url or not settings.model:
            raise ValueError("the OpenAI-compatible LLM needs MMRAG_LLM_URL and MMRAG_LLM_MODEL")
        url, user, password = url_credentials(settings.url)
        self._endpoint = url.rstrip("/") + "/chat/completions"
        self._auth = (
            httpx.BasicAuth(user or "", password or "")
            if (user or password) and settings.api_key is None
            else None
        )
        self._secrets = settings.secrets()
        self._model = settings.model
        self._settings = settings
        self._transport = transport
        self._backoff_s = backoff_s
        self._client: httpx.AsyncClient | None = None

    @property
    def name(self) -> str:
        return self._model

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self._settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self._settings.api_key.get_secret_value()}"
        return headers

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._settings.timeout_s),
                transport=self._transport,
                auth=self._auth,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def stream(self, system: str, user: str, *, max_tokens: int) -> AsyncIterator[str]:
        body = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": max_tokens,
            "temperature": self._settings.temperature,
            "stream": True,
        }
        attempts = self._settings.max_retries + 1
        for attempt in range(attempts):
            try:
                async for piece in self._attempt(body):
                    yield piece
                return
            except _Retryable as error:
                delay = error.retry_after or self._backoff_s * 2**attempt
                if attempt + 1 == attempts:
                    raise self._unavailable(
                        f"{self._endpoint} failed after {attempts} attempts: {error}"
                    ) from None
                logger.warning(
                    "llm_retry endpoint=%s attempt=%d error=%s delay_s=%.2f",
                    self._endpoint,
                    attempt + 1,
                    redact(str(error), self._secrets),
                    delay,
                )
                await asyncio.sleep(delay)
            except httpx.HTTPError as error:  # only after a token: see _attempt
                raise self._unavailable(
                    f"{self._endpoint} failed mid-answer: {type(error).__name__}: {error}"
                ) from None
            except LLMUnavailable as error:
                raise self._unavailable(str(error)) from None

    def _unavailable(self, message: str) -> LLMUnavailable:
        """The error to raise, its message redacted; raised ``from None`` so that no
        traceback chains the unredacted original into a log."""
        return LLMUnavailable(redact(message, self._secrets))

    async def _attempt(self, body: dict[str, Any]) -> AsyncIterator[str]:
        """One request. Failures before the first piece are ``_Retryable`` or
        ``LLMUnavailable``; after it, the ``httpx`` error itself."""
        emitted = False
        try:
            async with self._http().stream(
                "POST", self._endpoint, json=body, headers=self._headers()
            ) as response:
                await _check_status(response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    text = _message_content(json.loads(await response.aread()))
                    if text:
                        yield text
                    return
                async with contextlib.aclosing(EventSource(response).aiter_sse()) as events:
                    async for event in events:
                        if event.data.strip() == "[DONE]":
                            return
                        piece = _delta_content(json.loads(event.data)) if event.data else ""
                        if piece:
                            emitted = True
                            yield piece
        except SSEError as error:  # before TransportError, its base: a retry will not help
            raise LLMUnavailable(f"{self._endpoint} sent neither JSON nor SSE: {error}") from error
        except (httpx.TransportError, httpx.DecodingError) as error:
            if emitted:
                raise
            raise _Retryable(f"{type(error).__name__}: {error}") from error
        except (json.JSONDecodeError, KeyError, IndexError, TypeError) as error:
            raise LLMUnavailable(f"{self._endpoint} sent a malformed reply: {error!r}") from error


async def _check_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    detail = (await response.aread()).decode("utf-8", "replace")[:300]
    message = f"HTTP {response.status_code}: {detail}"
    if response.status_code in RETRYABLE_STATUS:
        retry_after = response.headers.get("retry-after", "")
        seconds = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
        raise _Retryable(message, None if seconds is None else min(seconds, MAX_RETRY_AFTER_S))
    raise LLMUnavailable(f"{response.request.url} answered {message}")


def _delta_content(chunk: dict[str, Any]) -> str:
    if "error" in chunk:
        raise LLMUnavailable(f"the server reported an error mid-answer: {chunk['error']}")
    choices = chunk.get("choices") or []
    if not choices:
        return ""  # e.g. a final usage-only chunk
    content = (choices[0].get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""


def _message_content(reply: dict[str, Any]) -> str:
    """A server that ignored ``stream: true`` and sent the whole completion."""
    content = reply["choices"][0]["message"]["content"]
    return content if isinstance(content, str) else ""
