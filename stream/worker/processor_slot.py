"""The place a lane's processor lives once the app runs (models and clients are built
then, not at import)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeVar

from indexer.pipeline import BatchResult
from stream.worker.processor import ChangeBatchProcessor
from stream.worker.records import RawRecord

Key = TypeVar("Key")


class ProcessorNotReady(RuntimeError):
    """A batch arrived before the processor was built (a bug: the agent builds it first)."""


class ProcessorSlot:
    def __init__(self) -> None:
        self._processor: ChangeBatchProcessor | None = None

    @property
    def ready(self) -> bool:
        return self._processor is not None

    async def fill(self, build: Callable[[], Awaitable[ChangeBatchProcessor]]) -> None:
        """Build the processor unless it is there already."""
        if self._processor is None:
            self._processor = await build()

    async def handle(self, records: Sequence[RawRecord]) -> BatchResult | None:
        if self._processor is None:
            raise ProcessorNotReady("a batch arrived before the processor was built")
        return await self._processor.handle(records)

    async def close(self) -> None:
        processor, self._processor = self._processor, None
        if processor is not None:
            await processor.close()


class SharedBuild(Generic[Key]):
    """Builds the lanes' processors once, for whichever lane's agent starts first (they
    share models, the store and the document locks)."""

    def __init__(self, build: Callable[[], Awaitable[Mapping[Key, ChangeBatchProcessor]]]):
        self._build = build
        self._lock = asyncio.Lock()
        self._built: Mapping[Key, ChangeBatchProcessor] | None = None

    async def processor(self, key: Key) -> ChangeBatchProcessor:
        async with self._lock:
            if self._built is None:
                self._built = await self._build()
        return self._built[key]
