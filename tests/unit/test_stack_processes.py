"""Process inspection for the local stack, on real child processes (psutil underneath)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from compose.local.processes import (
    group_resident_memory_bytes,
    is_alive,
    start_detached,
    stop_process_group,
)

# A parent that starts a sleeping child in its own process group, prints the child's pid
# and then sleeps too: a group of two, like Elasticsearch's launcher and its JVM.
_PARENT_WITH_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def _wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def test_running_process_is_alive() -> None:
    assert is_alive(os.getpid())


def test_exited_but_unreaped_child_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        _wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE)
        assert not is_alive(child.pid)
    finally:
        child.wait()


def test_reaped_process_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not is_alive(child.pid)


def test_group_memory_counts_every_member_and_stop_ends_the_whole_group(
    tmp_path: Path,
) -> None:
    log = tmp_path / "group.log"
    leader = start_detached(
        [sys.executable, "-c", _PARENT_WITH_CHILD], env=os.environ, log_file=log, cwd=tmp_path
    )
    try:
        _wait_until(lambda: log.read_text().strip() != "")
        child = int(log.read_text().split()[0])
        assert os.getpgid(child) == leader

        leader_rss = psutil.Process(leader).memory_info().rss
        assert group_resident_memory_bytes(leader) > leader_rss

        stop_process_group(leader, timeout_s=10)
        assert not is_alive(leader)
        assert not is_alive(child)
        assert group_resident_memory_bytes(leader) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(leader, signal.SIGKILL)
