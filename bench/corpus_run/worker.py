"""The run's own worker: ``python -m mmrag worker`` as a subprocess, as a user runs it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

READY_LINE = "worker ready"
RESTARTABLE_EXITS = frozenset({70, 75})
"""The worker's own "restart me" exits (a backend given up on, a detected stall), which a
supervisor (systemd, compose ``restart:``) answers by starting it again."""


class WorkerFailed(RuntimeError):
    """The worker exited or did not become ready; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WorkerSubprocess:
    def __init__(self, environment: dict[str, str], workdir: Path) -> None:
        self._environment = environment
        self._workdir = workdir
        self.log = workdir / "worker.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "MMRAG_WORKER_METRICS_PORT": str(free_port()),
            **self._environment,
        }
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "mmrag", "worker", "--log-level", "info"],
                cwd=self._workdir,  # Faust keeps its table data under the working directory
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, timeout_s: float = 300.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            if READY_LINE in self.log.read_text(errors="replace"):
                return
            await asyncio.sleep(0.3)
        raise WorkerFailed(f"worker not ready in {timeout_s:.0f} s:\n{self.tail()}")

    def supervise(self) -> None:
        """What a supervisor does: start the worker again after a restartable exit; any
        other exit fails the run."""
        if self._process is not None and self._process.poll() in RESTARTABLE_EXITS:
            self.restarts += 1
            self.start()
            return
        self.check_alive()

    def check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            code = None if self._process is None else self._process.returncode
            raise WorkerFailed(f"worker exited (code {code}):\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (the worker finishes its batch and leaves the group), then SIGKILL."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
