"""The project's own processes (``mmrag worker``, ``serve``, ``cms-ingress``) as a user runs
them, under a supervisor that restarts them when they exit, as systemd or compose would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


class ServiceProcess:
    """One ``python -m mmrag …`` subprocess; ``kill`` is a SIGKILL, ``exits`` lists the exit
    codes of the times it ended without being killed by us."""

    def __init__(
        self,
        name: str,
        arguments: Sequence[str],
        environment: Mapping[str, str],
        workdir: Path,
        ready_line: str | None = None,
        ready_url: str | None = None,
    ) -> None:
        self.name = name
        self.arguments = list(arguments)
        self.environment = dict(environment)
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        self.ready_line = ready_line
        self.ready_url = ready_url
        self.exits: list[int] = []
        self.kills = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "mmrag", *self.arguments],
                cwd=self.workdir,
                env={**os.environ, **self.environment},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited while starting:\n{self.tail()}")
            if await self._ready():
                return
            await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready within {timeout_s:.0f}s:\n{self.tail()}")

    async def _ready(self) -> bool:
        if self.ready_line is not None:
            with self.log.open("rb") as log:
                log.seek(self._log_offset)
                return self.ready_line.encode() in log.read()
        if self.ready_url is not None:
            try:
                async with httpx.AsyncClient(timeout=2.0) as client:
                    return (await client.get(self.ready_url)).status_code == 200
            except httpx.HTTPError:
                return False
        return True

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a pulled plug would."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(30)
            self.kills += 1
        self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._process = None

    def reap(self) -> int | None:
        """If it ended on its own since last asked: record and return its exit code."""
        if self._process is None:
            return None
        code = self._process.poll()
        if code is None:
            return None
        self.exits.append(code)
        self._process = None
        return code

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Supervisor:
    """Restarts the processes it watches whenever they exit on their own."""

    def __init__(self, processes: Sequence[ServiceProcess], interval_s: float = 0.5) -> None:
        self.processes = list(processes)
        self.interval_s = interval_s
        self.restarts = 0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            for process in self.processes:
                if process.reap() is not None:
                    process.start()
                    self.restarts += 1
            await asyncio.sleep(self.interval_s)

    def __enter__(self) -> Supervisor:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
        for process in self.processes:
            process.stop()
