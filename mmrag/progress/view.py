"""The terminal side of progress: a table per source, a line per lane, and a bar."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from mmrag.progress.rates import format_duration
from mmrag.progress.report import StatusReport


def _rate(value: float | None) -> str:
    return "?" if value is None else f"{value:,.1f}"


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def status_table(report: StatusReport) -> Table:
    table = Table(
        "source", "sent docs", "searchable docs", "chunks", "chunks/s", "ETA", title="sources"
    )
    if report.generation is not None:
        table.caption = f"searching {report.generation} (documents in {report.documents_index})"
    for source in report.sources:
        table.add_row(
            source.source,
            _count(source.sent_documents),
            _count(source.searchable_documents),
            _count(source.chunks),
            _rate(source.chunks_per_s),
            "-" if source.sent_documents is None else format_duration(source.eta_s),
        )
    return table


def lanes_line(report: StatusReport) -> Text:
    parts = [
        f"{lane.lane}: {lane.pending:,} pending"
        + (
            f", {_rate(lane.events_per_s)} events/s, ETA {format_duration(lane.eta_s)}"
            if lane.pending
            else ""
        )
        for lane in report.lanes
    ]
    chunks = (
        f"chunks searchable: {_count(report.chunks_searchable)} ({_rate(report.chunks_per_s)}/s)"
    )
    line = Text(" · ".join([*parts, chunks]))
    for error in report.errors:
        line.append(f"\n{error}", style="bold red")
    return line


def new_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events · ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
        console=console,
    )


def screen(report: StatusReport, bar: Progress) -> RenderableType:
    return Group(status_table(report), lanes_line(report), bar)
