"""One lane at a time per document.

A document's events may sit on both change topics, and the two lanes process batches
concurrently. A batch takes the locks of all its documents before it reads their
manifests and holds them until its writes were acknowledged and the manifests
remembered, so the other lane never folds events onto a manifest that is about to be
replaced. Locks are taken in sorted order, so two batches sharing documents cannot
deadlock; a lock no one holds or waits for is dropped, so the map stays small.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager


class DocumentLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, doc_ids: Iterable[str]) -> AsyncIterator[None]:
        wanted = sorted(set(doc_ids))
        for doc_id in wanted:
            self._users[doc_id] = self._users.get(doc_id, 0) + 1
        taken: list[asyncio.Lock] = []
        try:
            for doc_id in wanted:
                lock = self._locks.setdefault(doc_id, asyncio.Lock())
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()
            for doc_id in wanted:
                self._users[doc_id] -= 1
                if not self._users[doc_id]:
                    del self._users[doc_id]
                    del self._locks[doc_id]

    def held(self) -> set[str]:
        """Documents some batch holds or waits for now."""
        return set(self._users)
