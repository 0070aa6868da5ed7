"""Figures of the fault suite and the table that shows them (pure, apart from printing)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Figure:
    """One measured number; ``required_zero`` figures fail the run unless they are 0."""

    scenario: str
    name: str
    value: float
    required_zero: bool = False
    detail: str = ""

    @property
    def meets_target(self) -> bool | None:
        """True/False for a required 0, None for a figure given for information."""
        return self.value == 0 if self.required_zero else None


def failing(figures: Iterable[Figure]) -> list[Figure]:
    return [figure for figure in figures if figure.meets_target is False]


def exit_code(figures: Sequence[Figure]) -> int:
    """0 when every required 0 is 0 (and there is at least one figure), else 1."""
    return 1 if not figures or failing(figures) else 0


def _value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def summary_table(figures: Sequence[Figure]) -> Table:
    table = Table(title="mmrag bench faults", show_lines=False)
    table.add_column("scenario")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_column("detail", overflow="fold")
    for figure in figures:
        meets = figure.meets_target
        target = {None: "(info)", True: "[green]0 ✓[/green]", False: "[red]0 ✗[/red]"}[meets]
        table.add_row(figure.scenario, figure.name, _value(figure.value), target, figure.detail)
    return table


def print_summary(figures: Sequence[Figure], console: Console) -> None:
    console.print(summary_table(figures))
    bad = failing(figures)
    if bad:
        console.print(f"[red]{len(bad)} required figure(s) not 0[/red]")
    elif figures:
        console.print("[green]every required figure is 0[/green]")
