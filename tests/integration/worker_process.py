"""Running ``mmrag worker`` as a real subprocess, as a user would, for integration tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class WorkerEnvironment:
    kafka_bootstrap: str
    elasticsearch_url: str
    changes_topic: str
    backfill_topic: str
    chunks_alias: str
    documents_index: str
    app_id: str
    clip_model: str
    partitions: int = 3

    def variables(self, metrics_port: int) -> dict[str, str]:
        return {
            "MMRAG_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "MMRAG_ELASTICSEARCH_URL": self.elasticsearch_url,
            "MMRAG_CHANGES_TOPIC": self.changes_topic,
            "MMRAG_BACKFILL_TOPIC": self.backfill_topic,
            "MMRAG_DEAD_LETTER_TOPIC": f"{self.changes_topic}.dlq",
            "MMRAG_CHANGES_PARTITIONS": str(self.partitions),
            "MMRAG_CHUNKS_ALIAS": self.chunks_alias,
            "MMRAG_DOCUMENTS_INDEX": self.documents_index,
            "MMRAG_WORKER_APP_ID": self.app_id,
            "MMRAG_WORKER_METRICS_PORT": str(metrics_port),
            "MMRAG_CLIP_MODEL": self.clip_model,
            "MMRAG_CLIP_REQUIRED": "true",
            "MMRAG_WORKER_LAG_INTERVAL_S": "2",
            "MMRAG_WORKER_STALL_TIMEOUT_S": "20",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }


class WorkerProcess:
    def __init__(
        self,
        environment: WorkerEnvironment,
        workdir: Path,
        name: str = "worker",
        extra: dict[str, str] | None = None,
    ):
        self.environment = environment
        self.extra = extra or {}
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        self.metrics_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.environment.variables(self.metrics_port), **self.extra}
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "mmrag", "worker", "--log-level", "info"],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    async def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.tail()}")
            if "worker ready" in self.log.read_text(errors="replace"):
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout_s}s:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def metrics(self) -> dict[str, float]:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return values

    async def lags(self, lane: str = "live") -> dict[int, float]:
        """The lag this worker reports per partition it owns in ``lane`` (empty until it
        answers)."""
        try:
            values = await self.metrics()
        except httpx.HTTPError:
            return {}
        prefix = f"mmrag_consumer_lag{{lane={lane},partition="
        return {
            int(name[len(prefix) : -1]): value
            for name, value in values.items()
            if name.startswith(prefix)
        }

    async def assigned_partitions(self) -> set[int]:
        """The partitions this worker reports lag for, i.e. owns."""
        return set(await self.lags())

    def supervise(self) -> bool:
        """Restart the worker if it exited on purpose (a detected stall, or giving up on a
        backend), as its supervisor (systemd, compose ``restart:``) would. True if restarted."""
        assert self._process is not None
        if self._process.poll() in (70, 75):
            self.start()
            return True
        return False

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)

    def kill(self) -> None:
        assert self._process is not None
        self._process.kill()
        self._process.wait(10)


async def wait_for(
    check: Callable[[], Awaitable[bool]],
    timeout_s: float = 60.0,
    what: str = "condition",
    workers: Sequence[WorkerProcess] = (),
) -> None:
    """Poll ``check`` until true; on timeout, fail showing the tail of the workers' logs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    logs = "".join(f"\n--- {worker.log} ---\n{worker.tail()}" for worker in workers)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}{logs}")
