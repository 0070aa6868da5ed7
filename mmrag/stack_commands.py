"""``mmrag stack up|down|status``: the no-Docker local Kafka + Elasticsearch."""

from __future__ import annotations

import os
import time

import typer
from rich.console import Console
from rich.table import Table

from compose.local import LocalStack, ServiceStatus, StackError
from mmrag.bootstrap import stack_settings

stack_app = typer.Typer(help="Run a real Kafka broker and Elasticsearch node locally, no Docker.")
console = Console()
errors = Console(stderr=True)


def _report(message: str) -> None:
    console.print(f"[dim]·[/dim] {message}")


def _fail(error: StackError) -> None:
    errors.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _table(statuses: list[ServiceStatus]) -> Table:
    table = Table("service", "address", "pid", "state", "memory (RSS)")
    for status in statuses:
        if not status.running:
            state = "[dim]stopped[/dim]"
        elif status.healthy:
            state = "[green]healthy[/green]"
        else:
            state = "[yellow]running, not healthy[/yellow]"
        memory = f"{status.resident_memory_bytes / 2**20:.0f} MiB" if status.running else "-"
        table.add_row(status.name, status.address, str(status.pid or "-"), state, memory)
    return table


@stack_app.command("up")
def up() -> None:
    """Fetch (once) and start Kafka and Elasticsearch; wait until both are healthy."""
    started = time.monotonic()
    stack = LocalStack(stack_settings(os.environ))
    try:
        statuses = stack.up(report=_report)
    except StackError as error:
        _fail(error)
        return
    console.print(_table(statuses))
    console.print(f"ready in {time.monotonic() - started:.1f}s")
    console.print(
        f"MMRAG_KAFKA_BOOTSTRAP={stack.settings.kafka_bootstrap} "
        f"MMRAG_ELASTICSEARCH_URL={stack.settings.elasticsearch_url}",
        highlight=False,
        soft_wrap=True,
    )


@stack_app.command("down")
def down() -> None:
    """Stop both services (data is kept in the cache directory)."""
    try:
        LocalStack(stack_settings(os.environ)).down(report=_report)
    except StackError as error:
        _fail(error)


@stack_app.command("status")
def status() -> None:
    """Show each service's pid, health and memory; exit 1 unless all are healthy."""
    statuses = LocalStack(stack_settings(os.environ)).status()
    console.print(_table(statuses))
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)
