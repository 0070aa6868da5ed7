"""Tables and JSON for ``mmrag generations`` (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from indexer.generations.gate import GATED_METRICS
from indexer.generations.promotion import Promotion
from indexer.generations.registry import Generation


def generations_json(generations: Sequence[Generation]) -> list[dict[str, Any]]:
    return [
        {
            "name": g.name,
            "live": g.live,
            "chunks": g.chunks,
            "size_bytes": g.size_bytes,
            **g.meta.model_dump(mode="json"),
        }
        for g in generations
    ]


def generations_table(generations: Sequence[Generation]) -> Table:
    table = Table(title="Index generations (* live)")
    for column in ("generation", "models", "chunks", "created", "build", "eval"):
        table.add_column(column, overflow="fold")
    for g in generations:
        config, build = g.meta.config, g.meta.build
        progress = ""
        if build.documents_total:
            eta = build.eta_seconds()
            progress = (
                f"{build.documents_done}/{build.documents_total} docs\n"
                + (
                    "re-indexed by the worker"
                    if g.meta.documents_index
                    else f"{build.reused_share:.0%} vectors reused"
                )
                + (f"\nETA {eta:.0f} s" if eta else "")
            )
        figures = g.meta.evaluation.get(g.name, {})
        table.add_row(
            f"{g.name}{' *' if g.live else ''}\n{g.meta.state}",
            f"text {config.text_model}\nCLIP {config.clip_model or '—'}\n"
            f"{config.runtime} · {chunking_line(g)}",
            f"{g.chunks}\n{g.size_bytes / 1e6:.1f} MB",
            g.meta.created.strftime("%Y-%m-%d %H:%M") if g.meta.created else "—",
            progress,
            "\n".join(f"{m} {figures[m]:.3f}" for m in GATED_METRICS if m in figures),
        )
    return table


def chunking_line(generation: Generation) -> str:
    """The chunker a generation was built with, and where its manifests are when it has
    its own documents index (it chunks differently from the first generation)."""
    config = generation.meta.config
    if config.chunk_max_tokens is not None:
        overlap = config.chunk_overlap_tokens
        line = (
            f"chunks {config.chunk_max_tokens}"
            + (f"/{overlap} overlap" if overlap is not None else "")
            + " tokens"
        )
    else:
        line = config.chunking or "chunking not recorded"
    documents = generation.meta.documents_index
    return line + (f"\nmanifests {documents}" if documents else "")


def promotion_table(promotion: Promotion) -> Table:
    table = Table(title=f"Gate: {promotion.live} (live) vs {promotion.candidate}")
    live, new = promotion.scores[promotion.live], promotion.scores[promotion.candidate]
    table.add_column("metric")
    table.add_column(promotion.live, justify="right")
    table.add_column(promotion.candidate, justify="right")
    for metric in sorted(set(live) | set(new)):
        gated = " (gated)" if metric in GATED_METRICS else ""
        table.add_row(
            metric + gated,
            f"{live.get(metric, float('nan')):.3f}",
            f"{new.get(metric, float('nan')):.3f}",
        )
    if promotion.decision is not None:
        verdict = "passed" if promotion.decision.passed else "FAILED"
        table.caption = f"gate {verdict}: " + "; ".join(promotion.decision.reasons)
    return table


def index_build_line(build: dict[str, Any] | None) -> str | None:
    """One line for ``mmrag status`` about a generation being built (``None``: none)."""
    if build is None:
        return None
    eta = build.get("eta_s")
    return (
        f"index generation {build['generation']} {build['state']}: "
        f"{build['documents_done']}/{build['documents_total']} documents, "
        + _reuse(build.get("vectors_reused"))
        + (f", ETA {eta:.0f} s" if eta else "")
    )


async def read_index_build(elasticsearch_url: str, alias: str) -> dict[str, Any] | None:
    """``GenerationRegistry.build_status`` on its own client; ``None`` if unreadable."""
    from elasticsearch import AsyncElasticsearch

    from indexer.generations.registry import GenerationRegistry

    try:
        async with AsyncElasticsearch(elasticsearch_url, request_timeout=10) as client:
            return await GenerationRegistry(client, alias).build_status()
    except Exception:  # a status line reports what it can
        return None


def _reuse(share: float | None) -> str:
    """How the generation is filled: its share of copied vectors, or (a chunker change,
    ``None``) re-indexed from the sources by the worker."""
    return "re-indexed by the worker" if share is None else f"{share:.0%} of vectors reused"
