"""Per-document exclusivity across the two lanes (pure asyncio, no services)."""

from __future__ import annotations

import asyncio

import pytest

from stream.worker.document_locks import DocumentLocks


async def test_a_document_in_one_lane_waits_for_the_other_lane_to_finish() -> None:
    locks = DocumentLocks()
    order: list[str] = []
    backfill_in = asyncio.Event()
    release = asyncio.Event()

    async def backfill() -> None:
        async with locks.hold(["a", "b"]):
            backfill_in.set()
            await release.wait()
            order.append("backfill done")

    async def live() -> None:
        await backfill_in.wait()
        async with locks.hold(["b"]):
            order.append("live")

    tasks = [asyncio.create_task(backfill()), asyncio.create_task(live())]
    await backfill_in.wait()
    await asyncio.sleep(0.01)
    assert order == []  # live waits on b
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["backfill done", "live"]
    assert locks.held() == set()


async def test_other_documents_go_at_once() -> None:
    locks = DocumentLocks()
    async with locks.hold(["a"]):
        await asyncio.wait_for(_enter(locks, ["c", "d"]), 1)
        assert locks.held() == {"a"}


async def test_overlapping_batches_in_opposite_orders_do_not_deadlock() -> None:
    locks = DocumentLocks()
    done: list[int] = []

    async def batch(number: int, doc_ids: list[str]) -> None:
        async with locks.hold(doc_ids):
            await asyncio.sleep(0)
            done.append(number)

    await asyncio.wait_for(
        asyncio.gather(*(batch(n, ["x", "y"] if n % 2 else ["y", "x"]) for n in range(20))),
        2,
    )
    assert sorted(done) == list(range(20))
    assert locks.held() == set()


async def test_a_failing_batch_lets_go_of_its_documents() -> None:
    locks = DocumentLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold(["a", "a", "b"]):
            raise RuntimeError("boom")
    assert locks.held() == set()
    await asyncio.wait_for(_enter(locks, ["a", "b"]), 1)


async def _enter(locks: DocumentLocks, doc_ids: list[str]) -> None:
    async with locks.hold(doc_ids):
        pass
