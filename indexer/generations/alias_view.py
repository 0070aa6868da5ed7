"""The worker's view of the alias's generations, read again every few seconds.

One view serves a lane's chunking groups and their dual-writing stores, so they agree on
which generation is live (and so which group is primary) between two reads. A read is
cheap (one mapping and one alias request); a promotion, a rollback, a new or a dropped
generation is seen within ``refresh_s``.
"""

from __future__ import annotations

import time

from elasticsearch import AsyncElasticsearch

from indexer.errors import StoreUnavailable
from indexer.generations.registry import Generation, GenerationRegistry
from indexer.store.errors import ELASTICSEARCH_ERRORS, unavailable_as_transient


class GenerationsView:
    def __init__(self, client: AsyncElasticsearch, alias: str, *, refresh_s: float = 5.0) -> None:
        """``client``: owned by the caller (closed elsewhere)."""
        self._registry = GenerationRegistry(client, alias)
        self._refresh_s = refresh_s
        self._known: list[Generation] = []
        self._read_at = float("-inf")

    @property
    def alias(self) -> str:
        return self._registry.alias

    async def wait_until_ready(self, wait: str = "30s") -> None:
        """Return once Elasticsearch answers (a worker starting with it); else
        ``StoreUnavailable``."""
        try:
            await self._registry.client.cluster.health(wait_for_status="yellow", timeout=wait)
        except ELASTICSEARCH_ERRORS as error:
            raise StoreUnavailable(f"Elasticsearch is not ready: {error}") from error

    async def current(self) -> list[Generation]:
        """The alias's generations, oldest first (re-read every ``refresh_s``; raises
        ``StoreUnavailable`` when Elasticsearch cannot answer)."""
        now = time.monotonic()
        if now - self._read_at >= self._refresh_s or not self._known:
            with unavailable_as_transient("reading the index generations"):
                self._known = await self._registry.list()
            self._read_at = now
        return self._known

    def expire(self) -> None:
        """Read again on the next call (after creating the first generation, say)."""
        self._read_at = float("-inf")
