"""Retrying one document's read from a source that may come back (pure control flow).

A remote source that answers 5xx or cannot be reached fails *that document*: it is tried
again a few times with backoff, within a small budget, and then given up on so the batch
and its partition move on; the caller dead-letters the document (stage ``fetch``) to be
replayed once the source is back. Within a batch, further documents of a host given up on
are tried less (:class:`BatchSources`), so that a host that is down cannot hold a batch of
its documents for longer than the stall detector waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from indexer.errors import SourceUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRetry:
    attempts: int = 3
    """Tries in all (1 means no retry)."""
    initial_delay_s: float = 1.0
    """Waited after the first failure; doubled after each further one."""
    max_delay_s: float = 10.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    @property
    def budget_s(self) -> float:
        """The longest a document waits in all before it is given up on."""
        return sum(self._delay(attempt) for attempt in range(self.attempts - 1))

    def _delay(self, attempt: int) -> float:
        return min(self.initial_delay_s * 2.0**attempt, self.max_delay_s)

    async def read(self, read: Callable[[], Awaitable[bytes]], uri: str) -> bytes:
        """``read()``, tried again on :class:`SourceUnavailable`; the last one is raised."""
        attempt = 1
        while True:
            try:
                return await read()
            except SourceUnavailable as error:
                if attempt >= self.attempts:
                    raise
                delay = self._delay(attempt - 1)
                logger.warning(
                    "source_unavailable uri=%s attempt=%d/%d retry_in=%.1fs reason=%s",
                    uri,
                    attempt,
                    self.attempts,
                    delay,
                    error.reason,
                )
                await self.sleep(delay)
                attempt += 1


class BatchSources:
    """Reads of one batch, so that a source that is down costs the batch a bounded time:
    the first document of a host given up on had every retry; the next one of that host
    gets one try; after that the host is not tried again in this batch (its documents fail
    at once, to be replayed). A host that answers again is forgiven."""

    def __init__(self, retry: SourceRetry) -> None:
        self._retry = retry
        self._once = SourceRetry(attempts=1, sleep=retry.sleep)
        self._given_up: dict[str, int] = {}

    async def read(self, read: Callable[[], Awaitable[bytes]], uri: str) -> bytes:
        host = urlparse(uri).netloc or "local"
        failures = self._given_up.get(host, 0)
        if failures >= 2:
            raise SourceUnavailable(
                f"{host} was not tried again: it failed for {failures} documents of this batch",
                uri=uri,
            )
        try:
            data = await (self._retry if failures == 0 else self._once).read(read, uri)
        except SourceUnavailable:
            self._given_up[host] = failures + 1
            raise
        self._given_up.pop(host, None)
        return data
