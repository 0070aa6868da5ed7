"""The promotion gate's evaluation: the labelled set against one generation, through the
real query API run in-process (``create_app`` pointed at that generation's index, with
that generation's encoders), so the figures are those ``mmrag eval`` would measure.

The evaluator is synchronous (one question at a time); it runs in a worker thread and
each of its requests is sent, on the event loop, to the app through an ASGI transport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from indexer.encoders.base import Encoders
from indexer.generations.registry import Generation
from mmrag.bootstrap import ApiConfiguration
from mmrag.evaluation.client import ApiRejected, Timed
from mmrag.evaluation.labelled_set import LabelledQuestion
from mmrag.evaluation.runs import RunSpec

GATE_RUN = RunSpec("hybrid", "hybrid (API default)", "hybrid", None)


class LoopBridgedApi:
    """``SearchApi`` for a thread: each request runs on ``loop`` with an async client."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def search(self, body: dict[str, Any]) -> Timed:
        return self._post("/search", body)

    def ask(self, body: dict[str, Any]) -> Timed:
        return self._post("/ask", body)

    def _post(self, path: str, body: dict[str, Any]) -> Timed:
        started = time.perf_counter()
        request = self._client.post(path, json=body)
        response = asyncio.run_coroutine_threadsafe(request, self._loop).result()
        elapsed_ms = (time.perf_counter() - started) * 1000
        payload = response.json()
        if response.status_code >= 400:
            detail = payload.get("detail") if isinstance(payload, dict) else payload
            errors = payload.get("errors") if isinstance(payload, dict) else None
            raise ApiRejected(path, response.status_code, detail, errors)
        return Timed(payload, elapsed_ms)


async def evaluate_generation(
    generation: str,
    encoders: Encoders,
    questions: Sequence[LabelledQuestion],
    configuration: ApiConfiguration,
    *,
    k: int = 10,
) -> dict[str, float]:
    """The gate run's metrics (``recall@5``, ``mrr@10`` …) on ``generation``."""
    from mmrag.evaluation.runner import Evaluator
    from query_api.app import create_app

    app = create_app(
        configuration.api,
        store_settings=configuration.store.model_copy(update={"chunks_alias": generation}),
        generation_settings=configuration.generation,
        change_log_settings=configuration.change_log,
        encoders_factory=lambda: encoders,
        static_directory=None,
    )
    loop = asyncio.get_running_loop()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
            evaluator = Evaluator(LoopBridgedApi(client, loop), k=k)
            result = await asyncio.to_thread(evaluator.run, questions, GATE_RUN)
    return dict(result.metrics)


def gate_evaluator(
    questions: Sequence[LabelledQuestion], configuration: ApiConfiguration
) -> Callable[[Generation, Encoders], Awaitable[dict[str, float]]]:
    """The ``evaluate`` callable ``indexer.generations.promotion.promote`` takes."""

    async def evaluate(generation: Generation, encoders: Encoders) -> dict[str, float]:
        return await evaluate_generation(generation.name, encoders, questions, configuration)

    return evaluate
