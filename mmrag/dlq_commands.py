"""``mmrag dlq list|replay``: what landed on the dead-letter topic, and sending the
replayable letters (a bad file since fixed, a bug since patched) back to be indexed."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated, NoReturn, cast

import typer
from rich.console import Console
from rich.table import Table

from indexer.dead_letters import Stage
from mmrag.bootstrap import stream_settings
from stream.dead_letters.selection import (
    REPLAYABLE_STAGES,
    Refusal,
    Replay,
    StoredLetter,
    plan_replay,
)
from stream.settings import StreamSettings

dlq_app = typer.Typer(help="Dead letters: list them, replay the ones that can be indexed.")
console = Console()
errors = Console(stderr=True)

StageOption = Annotated[
    list[str] | None,
    typer.Option("--stage", help="Only letters of this stage (repeatable)."),
]


def _stages(values: list[str] | None) -> frozenset[Stage] | None:
    if not values:
        return None
    known = set(Stage.__args__)  # type: ignore[attr-defined]
    unknown = sorted(set(values) - known)
    if unknown:
        raise typer.BadParameter(f"unknown stage {unknown}; stages: {sorted(known)}")
    return frozenset(cast(Stage, value) for value in values)


def _read(settings: StreamSettings) -> list[StoredLetter]:
    from stream.dead_letters.topic import read_dead_letters
    from stream.worker.partition_reader import ReadBackError

    try:
        return asyncio.run(read_dead_letters(settings.kafka_bootstrap, settings.dead_letter_topic))
    except ReadBackError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    errors.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@dlq_app.command("list")
def list_letters(stage: StageOption = None) -> None:
    """Every dead letter: where and why it failed."""
    settings = stream_settings(os.environ)
    wanted = _stages(stage)
    letters = _read(settings)
    table = Table("partition:offset", "stage", "failed at", "uri / doc", "reason")
    shown = 0
    for stored in letters:
        letter = stored.letter
        if letter is None:
            if wanted is None:
                table.add_row(f"{stored.partition}:{stored.offset}", "?", "", "", stored.problem)
                shown += 1
            continue
        if wanted is not None and letter.stage not in wanted:
            continue
        table.add_row(
            f"{stored.partition}:{stored.offset}",
            letter.stage,
            letter.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
            letter.uri or letter.doc_id or "",
            letter.reason,
        )
        shown += 1
    console.print(table)
    console.print(f"{shown} dead letter(s) on {settings.dead_letter_topic}", highlight=False)


@dlq_app.command("replay")
def replay(
    stage: StageOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be replayed; send nothing.")
    ] = False,
) -> None:
    """Send the original events of replayable letters (stages fetch, extract, encode,
    store, internal) again, on the backfill topic (a replay never holds up live changes).
    Safe to repeat: an event older than what the index holds changes nothing."""
    from stream.dead_letters.topic import send_replays
    from stream.lanes import change_topics
    from stream.producer import ProducerUnavailable

    settings = stream_settings(os.environ)
    replays, refusals = plan_replay(_read(settings), change_topics(settings), _stages(stage))
    _report(replays, refusals)
    if dry_run:
        console.print(f"{len(replays)} would be replayed (dry run)", highlight=False)
        return
    if not replays:
        console.print("nothing to replay")
        return
    try:
        sent = asyncio.run(send_replays(settings, replays))
    except ProducerUnavailable as error:
        _fail(str(error))
    console.print(f"replayed {sent} event(s) to {settings.backfill_topic}", highlight=False)


def _report(replays: list[Replay], refusals: list[Refusal]) -> None:
    table = Table("partition:offset", "stage", "uri / doc", "replay")
    for item in replays:
        letter = item.letter.letter
        if letter is None:  # a replay always holds its letter
            continue
        where = f"{item.letter.partition}:{item.letter.offset}"
        table.add_row(where, letter.stage, letter.uri or letter.doc_id or "", "[green]yes[/green]")
    for refusal in refusals:
        letter = refusal.letter.letter
        where = f"{refusal.letter.partition}:{refusal.letter.offset}"
        stage = letter.stage if letter else "?"
        uri = (letter.uri or letter.doc_id or "") if letter else ""
        table.add_row(where, stage, uri, f"[dim]no: {refusal.reason}[/dim]")
    console.print(table)
    console.print(
        f"replayable stages: {', '.join(sorted(REPLAYABLE_STAGES))}", highlight=False, style="dim"
    )
