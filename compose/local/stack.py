"""Bringing the local stack up and down, and saying how it is."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from compose.local.elasticsearch import ElasticsearchService
from compose.local.errors import StackError
from compose.local.kafka import KafkaService
from compose.local.processes import (
    PidFile,
    group_resident_memory_bytes,
    is_alive,
    port_is_free,
    stop_process_group,
)
from compose.local.settings import StackSettings


class Service(Protocol):
    """What the stack needs of each of its services."""

    name: str
    pid_file: PidFile

    @property
    def ports(self) -> tuple[int, ...]: ...

    @property
    def address(self) -> str: ...

    def start(self) -> int:
        """Fetch what is missing, write configs, start detached; return the pid."""
        ...

    def healthy(self) -> bool:
        """Whether the service answers a real request."""
        ...


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    pid: int | None
    healthy: bool
    resident_memory_bytes: int

    @property
    def running(self) -> bool:
        return self.pid is not None


Reporter = Callable[[str], None]


def _silent(_: str) -> None:
    return None


class LocalStack:
    """Kafka and Elasticsearch as local processes; every operation is idempotent."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.kafka = KafkaService(self.settings)
        self.elasticsearch = ElasticsearchService(self.settings)
        self.services: tuple[Service, ...] = (self.kafka, self.elasticsearch)

    def up(self, report: Reporter = _silent) -> list[ServiceStatus]:
        """Start what is not running and wait until every service is healthy."""
        started: list[Service] = []
        for service in self.services:
            pid = service.pid_file.running_pid()
            if pid is not None:
                report(f"{service.name} already running (pid {pid}) at {service.address}")
                continue
            for port in service.ports:
                if not port_is_free(self.settings.host, port):
                    raise StackError(
                        f"cannot start {service.name}: port {port} on {self.settings.host} is "
                        "already in use by another process; stop it or choose other ports "
                        "(MMRAG_STACK_*_PORT settings)"
                    )
            report(f"starting {service.name} at {service.address}")
            service.start()
            started.append(service)
        deadline = time.monotonic() + self.settings.startup_timeout_s
        for service in self.services:
            self._wait_healthy(service, deadline)
            if service in started:
                report(f"{service.name} healthy at {service.address}")
        return self.status()

    def _wait_healthy(self, service: Service, deadline: float) -> None:
        while True:
            pid = service.pid_file.running_pid()
            if pid is None or not is_alive(pid):
                raise StackError(
                    f"{service.name} exited during start-up; see its logs under "
                    f"{service.pid_file.path.parent}"
                )
            if service.healthy():
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{service.name} did not become healthy within "
                    f"{self.settings.startup_timeout_s:.0f}s; see its logs under "
                    f"{service.pid_file.path.parent}"
                )
            time.sleep(0.5)

    def down(self, report: Reporter = _silent) -> None:
        """Stop every running service (Elasticsearch first, then the broker)."""
        for service in reversed(self.services):
            pid = service.pid_file.running_pid()
            if pid is None:
                report(f"{service.name} not running")
                continue
            report(f"stopping {service.name} (pid {pid})")
            stop_process_group(pid)
            service.pid_file.remove()

    def status(self) -> list[ServiceStatus]:
        statuses = []
        for service in self.services:
            pid = service.pid_file.running_pid()
            statuses.append(
                ServiceStatus(
                    name=service.name,
                    address=service.address,
                    pid=pid,
                    healthy=pid is not None and service.healthy(),
                    resident_memory_bytes=group_resident_memory_bytes(pid) if pid else 0,
                )
            )
        return statuses
