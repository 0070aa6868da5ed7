"""Starting, finding and stopping the stack's detached JVM processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class PidFile:
    """A pid file plus the marker that must appear in the process's command line.

    The marker tells our process from an unrelated one that reused a stale pid.
    """

    path: Path
    marker: str

    def running_pid(self) -> int | None:
        """The pid if the recorded process is alive and is ours; removes a stale file."""
        try:
            pid = int(self.path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        command_line = _command_line(pid)
        if command_line is not None and self.marker in command_line:
            return pid
        self.path.unlink(missing_ok=True)
        return None

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid}\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _command_line(pid: int) -> str | None:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:  # gone, a zombie, or not ours to read
        return None


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port (a connect attempt is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) != 0


def start_detached(
    command: Sequence[str], *, env: Mapping[str, str], log_file: Path, cwd: Path
) -> int:
    """Start a process in its own session (so it outlives us) with output to a log."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )
    return process.pid


def is_alive(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie is dead for our purposes)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def stop_process_group(pid: int, timeout_s: float = 30.0) -> None:
    """SIGTERM the process's whole group, then SIGKILL what is left after the timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + (timeout_s if sig == signal.SIGTERM else 10.0)
        while time.monotonic() < deadline:
            if not is_alive(pid) and not _group_members(pid):
                return
            time.sleep(0.1)


def _group_members(group_id: int) -> list[psutil.Process]:
    """The live (not zombie) processes of a process group."""
    members = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if (
                process.info["status"] != psutil.STATUS_ZOMBIE
                and os.getpgid(process.pid) == group_id
            ):
                members.append(process)
    return members


def group_resident_memory_bytes(group_id: int) -> int:
    """Resident memory of every process in a process group, summed."""
    total = 0
    for process in _group_members(group_id):
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total
