"""``mmrag generations``: build a new index generation for other models or another
chunker, promote it through the evaluation gate, roll back, drop, list
(docs/architecture.md, "Index generations")."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

generations_app = typer.Typer(help="Index generations: build, promote, roll back, drop, list.")
T = TypeVar("T")


@asynccontextmanager
async def _context() -> AsyncIterator[Any]:
    from elasticsearch import AsyncElasticsearch

    from indexer.generations.registry import GenerationRegistry
    from indexer.settings import IndexerSettings
    from indexer.store.mappings import IndexLayout
    from mmrag.bootstrap import load

    settings = load(IndexerSettings, os.environ)
    client = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=120)
    try:
        yield (
            settings,
            GenerationRegistry(
                client,
                settings.chunks_alias,
                index_type=settings.vector_index_type,
                refresh_interval=settings.refresh_interval,
                layout=IndexLayout(settings.chunk_shards, settings.chunk_replicas),
            ),
        )
    finally:
        await client.close()


def _run(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(settings, registry)``; a generation error is a clear exit 2."""
    from indexer.generations.registry import GenerationError

    async def main() -> T:
        async with _context() as (settings, registry):
            return await work(settings, registry)

    try:
        return asyncio.run(main())
    except GenerationError as error:
        Console(stderr=True).print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error


@asynccontextmanager
async def _publisher() -> AsyncIterator[Any]:
    """The change log a chunker-change build, or the check of a generation of another
    chunking group, publishes through."""
    from mmrag.bootstrap import stream_settings
    from mmrag.generation_publisher import LazyChangeLogPublisher

    publisher = LazyChangeLogPublisher(stream_settings(os.environ))
    try:
        yield publisher
    finally:
        await publisher.aclose()


def _rechunk_options(grace_s: float, timeout_s: float) -> Any:
    from indexer.generations.rechunk import RechunkOptions

    return RechunkOptions(grace_s=grace_s, timeout_s=timeout_s)


GraceOption = Annotated[
    float,
    typer.Option(min=0.0, help="Chunker changes: seconds a document may lag before resent."),
]
TimeoutOption = Annotated[
    float,
    typer.Option(min=1.0, help="Chunker changes: most seconds to wait for the worker."),
]


@generations_app.command("list")
def list_generations(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each generation: models, runtime, chunking, state, counts, size, created, eval."""
    from mmrag.generation_report import generations_json, generations_table

    async def work(_: Any, registry: Any) -> list[Any]:
        return list(await registry.list(with_stats=True))

    found = _run(work)
    if as_json:
        print(json.dumps(generations_json(found), indent=2))
    else:
        Console().print(generations_table(found))


@generations_app.command("build")
def build(
    text_model: Annotated[
        str | None, typer.Option(help="New text model (id or directory).")
    ] = None,
    clip_model: Annotated[
        str | None, typer.Option(help="New CLIP model (id or directory; '' for none).")
    ] = None,
    runtime: Annotated[
        str | None, typer.Option(help="New encoder runtime: torch, onnx, onnx-int8.")
    ] = None,
    chunk_max_tokens: Annotated[
        int | None, typer.Option(min=8, help="New chunk size (tokens): re-indexed by the worker.")
    ] = None,
    chunk_overlap_tokens: Annotated[
        int | None, typer.Option(min=0, help="New chunk overlap (tokens).")
    ] = None,
    page_size: Annotated[int, typer.Option(min=1, help="Documents copied per step.")] = 20,
    grace_s: GraceOption = 10.0,
    timeout_s: TimeoutOption = 3600.0,
    nice: Annotated[int, typer.Option(min=0, max=19, help="Lower this process's priority.")] = 10,
) -> None:
    """Build (or resume) a generation for a new configuration: copied from the live one
    for other models; for another chunker, re-indexed from the sources by the worker
    (through the backfill topic). Search keeps using the live one meanwhile."""

    from indexer.encoders.settings import EncoderSettings
    from indexer.generations.encoders import EncoderCache
    from indexer.generations.lifecycle import BuildRequest, plan_build, run_build, start_or_resume
    from indexer.generations.stored_images import StoredImageReader
    from indexer.sources import ContentReader
    from mmrag.bootstrap import load

    os.nice(nice)  # the worker's live changes go first (see docs/architecture.md)
    console = Console()
    request = BuildRequest(text_model, clip_model, runtime, chunk_max_tokens, chunk_overlap_tokens)

    async def work(settings: Any, registry: Any) -> Any:
        base = load(EncoderSettings, os.environ)
        cache = EncoderCache(base)
        plan = await plan_build(registry, settings, base, cache, request)
        name = await start_or_resume(registry, settings, plan)
        how = (
            f"chunking {plan.target.chunking}: re-indexed from the sources by the worker"
            if plan.reuse.rechunk
            else f"text vectors: {plan.reuse.text}, CLIP vectors: {plan.reuse.clip}"
        )
        console.print(
            f"building [bold]{name}[/bold] from {plan.live.name}: {plan.target.describe()}; {how}"
        )
        reader = ContentReader(settings)
        try:
            async with _publisher() as publisher:
                progress = await _with_bar(
                    console,
                    lambda show: run_build(
                        registry,
                        settings,
                        cache,
                        name,
                        StoredImageReader(reader, settings),
                        page_size=page_size,
                        on_progress=show,
                        publisher=publisher,
                        rechunk=_rechunk_options(grace_s, timeout_s),
                    ),
                )
        finally:
            await reader.close()
        return name, progress, plan.reuse.rechunk

    name, progress, rechunked = _run(work)
    if rechunked:
        console.print(
            f"{name} ready: {progress.documents_done}/{progress.documents_total} documents "
            f"re-indexed by the worker in {progress.seconds:.1f} s. "
            "Next: mmrag generations promote"
        )
        return
    console.print(
        f"{name} ready: {progress.chunks_copied} chunks in {progress.seconds:.1f} s, "
        f"{progress.reused_share:.0%} of vectors reused "
        f"(text {progress.text_vectors_reused} reused / {progress.text_vectors_embedded} "
        f"embedded, CLIP {progress.clip_vectors_reused} / {progress.clip_vectors_embedded}, "
        f"{progress.images_unreadable} images unreadable). Next: mmrag generations promote"
    )


async def _with_bar(console: Console, run: Callable[[Callable[[Any], None]], Awaitable[T]]) -> T:
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


def _print_check(console: Console, name: str, repaired: Any) -> None:
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


@generations_app.command("promote")
def promote(
    name: Annotated[str | None, typer.Argument(help="Default: the newest ready one.")] = None,
    eval_set: Annotated[
        Path | None, typer.Option(help="Labelled set for the gate (mmrag eval format).")
    ] = None,
    split: Annotated[str, typer.Option(help="tune, held or all.")] = "all",
    tolerance: Annotated[float, typer.Option(min=0.0, help="Allowed drop per metric.")] = 0.01,
    force: Annotated[bool, typer.Option(help="Switch even if the gate fails.")] = False,
    grace_s: GraceOption = 10.0,
    timeout_s: TimeoutOption = 3600.0,
) -> None:
    """Verify-and-repair a ready generation, compare it with the live one on a labelled
    set, and switch the alias to it if it is not worse (atomic)."""
    from indexer.encoders.settings import EncoderSettings
    from indexer.generations.encoders import EncoderCache
    from indexer.generations.lifecycle import promote as run_promote
    from indexer.generations.stored_images import StoredImageReader
    from indexer.sources import ContentReader
    from mmrag.bootstrap import api_configuration, load
    from mmrag.evaluation.labelled_set import load_labelled_set, select_split
    from mmrag.generation_gate import gate_evaluator
    from mmrag.generation_report import promotion_table

    if eval_set is None and not force:
        raise typer.BadParameter("give --eval-set for the gate, or --force to skip it")
    console = Console()

    async def work(settings: Any, registry: Any) -> Any:
        evaluate = None
        if eval_set is not None:
            questions = select_split(load_labelled_set(eval_set), split)
            evaluate = gate_evaluator(questions, api_configuration(os.environ))
        reader = ContentReader(settings)
        try:
            async with _publisher() as publisher:
                return await run_promote(
                    registry,
                    settings,
                    EncoderCache(load(EncoderSettings, os.environ)),
                    StoredImageReader(reader, settings),
                    candidate=name,
                    evaluate=evaluate,
                    tolerance=tolerance,
                    force=force,
                    publisher=publisher,
                    rechunk=_rechunk_options(grace_s, timeout_s),
                )
        finally:
            await reader.close()

    outcome = _run(work)
    _print_check(console, outcome.candidate, outcome.repaired)
    if outcome.decision is not None:
        console.print(promotion_table(outcome))
    if not outcome.switched:
        console.print(f"[red]not promoted[/red]: {outcome.candidate} is worse (--force to switch)")
        raise typer.Exit(1)
    console.print(f"[green]{outcome.candidate} is live[/green] ({outcome.live} kept for rollback)")


@generations_app.command("rollback")
def rollback(
    verify: Annotated[
        bool, typer.Option(help="Verify-and-repair it against the manifests first.")
    ] = True,
    grace_s: GraceOption = 10.0,
    timeout_s: TimeoutOption = 3600.0,
) -> None:
    """Switch the alias back to the generation that was live before (one request)."""
    from indexer.encoders.settings import EncoderSettings
    from indexer.generations.encoders import EncoderCache
    from indexer.generations.lifecycle import rollback as run_rollback
    from indexer.generations.stored_images import StoredImageReader
    from indexer.sources import ContentReader
    from mmrag.bootstrap import load

    async def work(settings: Any, registry: Any) -> Any:
        if not verify:
            return await run_rollback(registry)
        reader = ContentReader(settings)
        try:
            cache = EncoderCache(load(EncoderSettings, os.environ))
            images = StoredImageReader(reader, settings)
            async with _publisher() as publisher:
                return await run_rollback(
                    registry,
                    settings,
                    cache,
                    images,
                    publisher=publisher,
                    rechunk=_rechunk_options(grace_s, timeout_s),
                )
        finally:
            await reader.close()

    live, left, repaired = _run(work)
    if repaired is not None:
        _print_check(Console(), live, repaired)
    Console().print(f"{live} is live again ({left} kept)")


@generations_app.command("drop")
def drop(name: Annotated[str, typer.Argument(help="A generation that is not live.")]) -> None:
    """Delete a generation that is not live (it is no longer written or searchable), and
    its own documents index when no other generation uses it."""

    async def work(_: Any, registry: Any) -> str | None:
        documents: str | None = await registry.drop(name)
        return documents

    documents = _run(work)
    also = f" with its documents index {documents}" if documents else ""
    Console().print(f"{name} dropped{also}")
