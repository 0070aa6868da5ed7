"""The local stack itself, when the tests run on it (not on containers or given URLs)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from compose.local import LocalStack, StackSettings
from mmrag.cli import app
from tests.services import ServiceEndpoints


@pytest.fixture
def local_stack(services: ServiceEndpoints) -> LocalStack:
    if not services.origin.startswith("local stack"):
        pytest.skip(f"services come from {services.origin}, not the local stack")
    return LocalStack(StackSettings())


def test_status_reports_both_services_healthy_with_memory(local_stack: LocalStack) -> None:
    statuses = {status.name: status for status in local_stack.status()}
    assert set(statuses) == {"kafka", "elasticsearch"}
    for status in statuses.values():
        assert status.running
        assert status.healthy
        assert status.resident_memory_bytes > 50 * 2**20


def test_second_up_is_a_no_op(local_stack: LocalStack) -> None:
    before = {status.name: status.pid for status in local_stack.status()}
    messages: list[str] = []
    local_stack.up(report=messages.append)
    after = {status.name: status.pid for status in local_stack.status()}
    assert after == before
    assert all("already running" in message for message in messages)


def test_cli_status_exits_zero_when_healthy(local_stack: LocalStack) -> None:
    result = CliRunner().invoke(app, ["stack", "status"])
    assert result.exit_code == 0, result.output
    assert result.output.count("healthy") == 2
