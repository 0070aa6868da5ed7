"""The local stack's failure paths: each must be one clear line, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compose.local import LocalStack, StackError, StackSettings
from compose.local.java import find_java_home
from compose.local.maven import fetch_kafka
from compose.local.processes import PidFile, port_is_free
from mmrag.cli import app


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _settings(tmp_path: Path, kafka_port: int) -> StackSettings:
    return StackSettings(
        cache_dir=tmp_path,
        kafka_port=kafka_port,
        kafka_controller_port=_free_port(),
        elasticsearch_port=_free_port(),
        elasticsearch_transport_port=_free_port(),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_port_taken_is_refused_before_anything_starts(tmp_path: Path, listening_port: int) -> None:
    stack = LocalStack(_settings(tmp_path, listening_port))
    with pytest.raises(StackError, match=f"port {listening_port} .* already in use"):
        stack.up()
    assert not (tmp_path / "kafka" / "kafka.pid").exists()


def test_cli_reports_port_taken_in_one_line(
    tmp_path: Path, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMRAG_STACK_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("MMRAG_STACK_KAFKA_PORT", str(listening_port))
    monkeypatch.setenv("MMRAG_STACK_KAFKA_CONTROLLER_PORT", str(_free_port()))
    result = CliRunner().invoke(app, ["stack", "up"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert f"port {listening_port}" in error_lines[0]


def test_configured_java_that_is_not_a_jdk(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"Elasticsearch needs Java 21\+, but .* is not a JDK"):
        find_java_home(21, tmp_path, "Elasticsearch")


def test_no_java_anywhere_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("compose.local.java._candidate_homes", list)
    with pytest.raises(StackError, match=r"needs Java 99\+ and none was found"):
        find_java_home(99, None, "Kafka")


def test_missing_mvn_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match=r"mvn \(Apache Maven\) is not on PATH"):
        fetch_kafka(tmp_path, "4.1.1", "2.24.3")


def test_stale_pid_file_is_detected_and_removed(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid_file = PidFile(tmp_path / "x.pid", marker="kafka.Kafka")
    pid_file.write(int(finished.stdout))
    assert pid_file.running_pid() is None
    assert not pid_file.path.exists()


def test_pid_reused_by_another_program_is_not_ours(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path / "x.pid", marker="a-marker-no-process-has")
    pid_file.write(os.getpid())
    assert pid_file.running_pid() is None


def test_live_process_with_marker_is_found(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path / "x.pid", marker=Path(sys.executable).name)
    pid_file.write(os.getpid())
    assert pid_file.running_pid() == os.getpid()


def test_port_probe(listening_port: int) -> None:
    assert not port_is_free("127.0.0.1", listening_port)
    assert port_is_free("127.0.0.1", _free_port())
