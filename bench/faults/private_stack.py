"""A Kafka and an Elasticsearch of the suite's own, on their own ports and directories.

The shared stack (``mmrag stack up``, ports 19092/19200) is never touched: this one reuses
only its downloaded artifacts (linked, not copied) and can be stopped and killed freely.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from compose.local import LocalStack, StackSettings
from compose.local.errors import StackError
from compose.local.processes import is_alive, port_is_free, stop_process_group
from compose.local.stack import Service

DEFAULT_PORT_BASE = 29000


def private_settings(port_base: int, directory: Path | None = None) -> StackSettings:
    """Ports ``base+92`` (Kafka), ``+93`` (controller), ``+200`` (ES), ``+300`` (transport)."""
    cache_dir = directory or Path(tempfile.gettempdir()) / f"mmrag-faults-{port_base}"
    shared = StackSettings()
    artifacts = cache_dir / "artifacts"
    if not artifacts.exists() and (shared.cache_dir / "artifacts").is_dir():
        cache_dir.mkdir(parents=True, exist_ok=True)
        artifacts.symlink_to(shared.cache_dir / "artifacts")
    return shared.model_copy(
        update={
            "cache_dir": cache_dir,
            "kafka_port": port_base + 92,
            "kafka_controller_port": port_base + 93,
            "elasticsearch_port": port_base + 200,
            "elasticsearch_transport_port": port_base + 300,
            "elasticsearch_run_dir": None,
        }
    )


def _wait_port_free(host: str, port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_is_free(host, port) and time.monotonic() < deadline:
        time.sleep(0.2)


class PrivateStack:
    def __init__(self, settings: StackSettings) -> None:
        if settings.kafka_port == StackSettings().kafka_port:
            raise ValueError("the fault suite must not run on the shared stack's ports")
        self.settings = settings
        self._stack = LocalStack(settings)

    @property
    def kafka_bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    @property
    def elasticsearch_url(self) -> str:
        return self.settings.elasticsearch_url

    async def up(self) -> None:
        """Start whatever of it is not running and wait until both are healthy.

        Started here rather than by ``LocalStack.up``: that one judges a process by its pid
        file's command-line marker, which a check made between fork and exec does not find
        yet (on a loaded machine it then removes the pid file and calls a starting broker
        dead); here the pid is kept from the start and only ``is_alive`` is asked."""
        for service in self._stack.services:
            if service.pid_file.running_pid() is not None:
                continue
            pid = await asyncio.to_thread(service.start)
            deadline = time.monotonic() + self.settings.startup_timeout_s
            while not await asyncio.to_thread(service.healthy):
                if not is_alive(pid):
                    raise StackError(f"{service.name} exited during start-up; see its logs")
                if time.monotonic() > deadline:
                    raise StackError(f"{service.name} not healthy in time; see its logs")
                await asyncio.sleep(0.5)
            service.pid_file.write(pid)

    async def down(self) -> None:
        await asyncio.to_thread(self._stack.down)

    async def stop(self, service: Service) -> None:
        pid = service.pid_file.running_pid()
        if pid is not None:
            await asyncio.to_thread(stop_process_group, pid)
        service.pid_file.remove()
        for port in service.ports:
            await asyncio.to_thread(_wait_port_free, self.settings.host, port)

    async def stop_elasticsearch(self) -> None:
        await self.stop(self._stack.elasticsearch)

    async def stop_kafka(self) -> None:
        await self.stop(self._stack.kafka)
