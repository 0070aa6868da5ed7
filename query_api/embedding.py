"""Query embedding with micro-batching: concurrent queries share one model call.

Embedding one short query costs nearly as much as embedding sixteen (the forward pass is
dominated by fixed per-call overhead at batch 1), and CPU inference must not run on the
event loop. So each model gets a ``BatchingEmbedder``: callers enqueue their input and
await a future; one consumer task takes everything queued (up to ``max_batch``) and runs
it as one batch on the shared single-thread executor. No waiting window is added: a lone
query is embedded at once, and batches form only while a previous batch is running, i.e.
exactly when requests are queueing anyway.

The executor has one thread because the runtime (torch or ONNX Runtime, see
docs/encoders.md) already uses its threads for one call and Hugging Face fast tokenizers
must not be used from several threads at once. The models are the ones ``load_encoders``
gives for ``MMRAG_ENCODER_RUNTIME``: query vectors must come from the runtime the index
was built with (it is part of the encoder's name, checked against the index's ``_meta``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Vector = list[float]


class BatchingEmbedder(Generic[Item]):
    def __init__(
        self,
        embed_batch: Callable[[Sequence[Item]], Any],
        executor: Executor,
        *,
        max_batch: int = 32,
    ) -> None:
        """``embed_batch`` returns one row (a sequence of floats) per input, in order."""
        self._embed_batch = embed_batch
        self._executor = executor
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Vector]]] | None = None
        self._consumer: asyncio.Task[None] | None = None

    async def embed(self, item: Item) -> Vector:
        if self._queue is None or self._consumer is None or self._consumer.done():
            self._queue = asyncio.Queue()
            self._consumer = asyncio.create_task(self._consume(self._queue))
        future: asyncio.Future[Vector] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _consume(self, queue: asyncio.Queue[tuple[Item, asyncio.Future[Vector]]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            waiting = [(item, future) for item, future in batch if not future.cancelled()]
            if not waiting:
                continue
            try:
                rows = await loop.run_in_executor(
                    self._executor, self._embed_batch, [item for item, _ in waiting]
                )
            except Exception as error:  # every caller of this batch gets the error
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), row in zip(waiting, rows, strict=True):
                if not future.done():
                    future.set_result(row.tolist() if hasattr(row, "tolist") else list(row))

    async def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
            self._consumer = None
