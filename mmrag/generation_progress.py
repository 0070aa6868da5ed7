"""What ``mmrag generations`` shows while and after it works: a build's progress bar, what
verifying a generation did."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rich.console import Console

T = TypeVar("T")


async def with_progress_bar(
    console: Console, run: Callable[[Callable[[Any], None]], Awaitable[T]]
) -> T:
    """``run(show)`` under a progress bar that ``show(BuildProgress)`` updates."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[eta]}"),
        console=console,
    ) as bar:
        task = bar.add_task("documents", total=None, eta="")

        def show(progress: Any) -> None:
            eta = progress.eta_seconds()
            bar.update(
                task,
                completed=progress.documents_done,
                total=progress.documents_total,
                eta=f"ETA {eta:.0f} s" if eta is not None else "",
            )

        return await run(show)


def print_check(console: Console, name: str, repaired: Any) -> None:
    """What verifying ``name`` did (a repair in the live group, or a group sync)."""
    from indexer.generations.rechunk import SyncReport

    if isinstance(repaired, SyncReport):
        console.print(
            f"verified {name}: {repaired.in_sync}/{repaired.documents} documents in sync, "
            f"{repaired.upserts} upserts and {repaired.deletes} deletes sent again, "
            f"{repaired.chunks_deleted} stray chunks deleted"
        )
        if repaired.given_up:
            console.print(
                f"[yellow]{len(repaired.given_up)} documents stay out of sync[/yellow] "
                f"(the worker's log says why): {', '.join(repaired.given_up[:5])}"
            )
        return
    console.print(
        f"verified {name}: {repaired.documents} documents, {repaired.copied} "
        f"chunks copied, {repaired.deleted} deleted, {repaired.refreshed} refreshed"
    )
    if repaired.unrepairable:
        console.print(
            f"[yellow]{len(repaired.unrepairable)} chunks named by manifests are in neither "
            "generation[/yellow] (the live one lost them: `mmrag watch DIR --once --resend` "
            "writes them again)"
        )
