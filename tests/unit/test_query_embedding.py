"""Micro-batched query embedding."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.typing import NDArray

from query_api.embedding import BatchingEmbedder


class RecordingModel:
    """Rows ``[len(text), position in batch]``; blocks until released, to let a queue form."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.release.wait(5)
        self.batches.append(list(texts))
        if "boom" in texts:
            raise RuntimeError("model failed")
        return np.array([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32)


@pytest.fixture
def executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1)


async def test_a_lone_query_is_embedded_at_once(executor: ThreadPoolExecutor) -> None:
    model = RecordingModel()
    batcher = BatchingEmbedder(model, executor)
    assert await batcher.embed("abc") == [3.0, 0.0]
    assert model.batches == [["abc"]]
    await batcher.close()


async def test_queries_arriving_while_a_batch_runs_share_the_next_call(
    executor: ThreadPoolExecutor,
) -> None:
    model = RecordingModel()
    batcher = BatchingEmbedder(model, executor, max_batch=8)
    model.release.clear()
    first = asyncio.create_task(batcher.embed("first"))
    await asyncio.sleep(0.05)  # the first batch is running (blocked in the model)
    rest = [asyncio.create_task(batcher.embed("x" * n)) for n in range(1, 11)]
    await asyncio.sleep(0.05)
    model.release.set()
    assert await first == [5.0, 0.0]
    results = await asyncio.gather(*rest)
    assert [row[0] for row in results] == [float(n) for n in range(1, 11)]  # each its own
    assert [len(batch) for batch in model.batches] == [1, 8, 2]
    await batcher.close()


async def test_a_failing_batch_fails_each_caller_and_the_batcher_goes_on(
    executor: ThreadPoolExecutor,
) -> None:
    model = RecordingModel()
    batcher = BatchingEmbedder(model, executor)
    model.release.clear()
    blocker = asyncio.create_task(batcher.embed("hold"))
    await asyncio.sleep(0.05)
    doomed = [asyncio.create_task(batcher.embed(t)) for t in ("boom", "ok")]
    await asyncio.sleep(0.05)
    model.release.set()
    await blocker
    for task in doomed:
        with pytest.raises(RuntimeError, match="model failed"):
            await task
    assert await batcher.embed("fine") == [4.0, 0.0]
    await batcher.close()


async def test_a_cancelled_caller_does_not_break_the_batch(executor: ThreadPoolExecutor) -> None:
    model = RecordingModel()
    batcher = BatchingEmbedder(model, executor)
    model.release.clear()
    blocker = asyncio.create_task(batcher.embed("hold"))
    await asyncio.sleep(0.05)
    gone = asyncio.create_task(batcher.embed("gone"))
    kept = asyncio.create_task(batcher.embed("kept"))
    await asyncio.sleep(0.05)
    gone.cancel()
    model.release.set()
    await blocker
    assert await kept == [4.0, 0.0]
    assert model.batches[-1] == ["kept"]
    await batcher.close()
