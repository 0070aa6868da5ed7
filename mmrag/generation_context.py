"""What each ``mmrag generations`` command runs in: the settings and the generation
registry (an Elasticsearch client closed after), the change log a chunker change goes
through, and a generation error as a clear exit 2."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console

T = TypeVar("T")


@asynccontextmanager
async def registry_context() -> AsyncIterator[Any]:
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
                documents_layout=IndexLayout(
                    settings.documents_shards, settings.documents_replicas
                ),
            ),
        )
    finally:
        await client.close()


def run_with_registry(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(settings, registry)``; a generation error is a clear exit 2."""
    from indexer.generations.registry import GenerationError

    async def main() -> T:
        async with registry_context() as (settings, registry):
            return await work(settings, registry)

    try:
        return asyncio.run(main())
    except GenerationError as error:
        Console(stderr=True).print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error


@asynccontextmanager
async def change_log_publisher() -> AsyncIterator[Any]:
    """The change log a chunker-change build, or the check of a generation of another
    chunking group, publishes through."""
    from mmrag.bootstrap import stream_settings
    from mmrag.generation_publisher import LazyChangeLogPublisher

    publisher = LazyChangeLogPublisher(stream_settings(os.environ))
    try:
        yield publisher
    finally:
        await publisher.aclose()


def rechunk_options(grace_s: float, timeout_s: float) -> Any:
    from indexer.generations.rechunk import RechunkOptions

    return RechunkOptions(grace_s=grace_s, timeout_s=timeout_s)
