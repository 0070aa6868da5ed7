"""``mmrag generations``: build a new index generation for other models or another
chunker, promote it through the evaluation gate, roll back, drop, list
(docs/architecture.md, "Index generations")."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mmrag.generation_context import change_log_publisher, rechunk_options, run_with_registry
from mmrag.generation_progress import print_check, with_progress_bar

generations_app = typer.Typer(help="Index generations: build, promote, roll back, drop, list.")


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

    found = run_with_registry(work)
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
    from indexer.generations.build_runner import run_build
    from indexer.generations.encoders import EncoderCache
    from indexer.generations.planning import BuildRequest, plan_build, start_or_resume
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
            async with change_log_publisher() as publisher:
                progress = await with_progress_bar(
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
                        rechunk=rechunk_options(grace_s, timeout_s),
                    ),
                )
        finally:
            await reader.close()
        return name, progress, plan.reuse.rechunk

    name, progress, rechunked = run_with_registry(work)
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
    from indexer.generations.promotion import promote as run_promote
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
            async with change_log_publisher() as publisher:
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
                    rechunk=rechunk_options(grace_s, timeout_s),
                )
        finally:
            await reader.close()

    outcome = run_with_registry(work)
    print_check(console, outcome.candidate, outcome.repaired)
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
    from indexer.generations.promotion import rollback as run_rollback
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
            async with change_log_publisher() as publisher:
                return await run_rollback(
                    registry,
                    settings,
                    cache,
                    images,
                    publisher=publisher,
                    rechunk=rechunk_options(grace_s, timeout_s),
                )
        finally:
            await reader.close()

    live, left, repaired = run_with_registry(work)
    if repaired is not None:
        print_check(Console(), live, repaired)
    Console().print(f"{live} is live again ({left} kept)")


@generations_app.command("drop")
def drop(name: Annotated[str, typer.Argument(help="A generation that is not live.")]) -> None:
    """Delete a generation that is not live (it is no longer written or searchable), and
    its own documents index when no other generation uses it."""

    async def work(_: Any, registry: Any) -> str | None:
        documents: str | None = await registry.drop(name)
        return documents

    documents = run_with_registry(work)
    also = f" with its documents index {documents}" if documents else ""
    Console().print(f"{name} dropped{also}")
