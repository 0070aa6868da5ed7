"""Reading a :class:`~mmrag.progress.snapshot.Snapshot` from Kafka, Elasticsearch and the
watcher's state. Each backend is read with a bounded wait; one that does not answer is
named in ``Snapshot.errors`` and the rest is still read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from elasticsearch import AsyncElasticsearch, NotFoundError

from indexer.change_log import GroupOffsetReader, TopicOffsets
from mmrag.progress.snapshot import (
    LaneReading,
    Served,
    Snapshot,
    SourceReading,
    lane_readings,
    served_generation,
    source_readings,
    sources_query,
)
from stream.lanes import Lane
from stream.watcher.state import sent_documents


@dataclass(frozen=True)
class ProbeTargets:
    kafka_bootstrap: str
    worker_group: str
    topics: Mapping[Lane, str]
    documents_index: str
    """The shared documents index (``MMRAG_DOCUMENTS_INDEX``); a served generation that
    chunks differently is counted in its own."""
    chunks_alias: str
    state_dir: Path | None = None
    """The watcher's state directory, for what was sent per ``fs:`` source (None: skip)."""
    timeout_s: float = 5.0


class Probe:
    """Use as an async context manager: the Kafka clients are opened at the first reading
    and kept until the end (opened again after a failure), so that frequent readings cost
    the machine little."""

    def __init__(self, targets: ProbeTargets, elasticsearch: AsyncElasticsearch) -> None:
        self._targets = targets
        self._elasticsearch = elasticsearch
        self._reader: GroupOffsetReader | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._drop_reader()

    async def _drop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.__aexit__(None, None, None)

    async def read(self) -> Snapshot:
        at = time.monotonic()
        errors: list[str] = []
        offsets: dict[str, TopicOffsets] = {}
        lanes: tuple[LaneReading, ...] = ()
        try:
            offsets = await asyncio.wait_for(self._offsets(), self._targets.timeout_s)
            lanes = lane_readings(offsets, self._targets.topics)
        except Exception as error:  # reported, and the rest is still read
            errors.append(f"kafka: {_describe(error)}")
            await self._drop_reader()
        sent = (
            await asyncio.to_thread(sent_documents, self._targets.state_dir)
            if self._targets.state_dir is not None
            else {}
        )
        sources: tuple[SourceReading, ...] = ()
        chunks: int | None = None
        served: Served | None = None
        try:
            served, response, chunks = await asyncio.wait_for(
                self._elasticsearch_counts(), self._targets.timeout_s
            )
            sources = source_readings(response, sent)
        except Exception as error:  # reported, and the rest is still read
            errors.append(f"elasticsearch: {_describe(error)}")
            sources = source_readings({}, sent)
        return Snapshot(
            at=at,
            lanes=lanes,
            sources=sources,
            chunks_searchable=chunks,
            offsets=offsets,
            errors=tuple(errors),
            generation=served.generation if served is not None else None,
            documents_index=served.documents_index if served is not None else None,
        )

    async def _offsets(self) -> dict[str, TopicOffsets]:
        targets = self._targets
        if self._reader is None:
            reader = GroupOffsetReader(
                targets.kafka_bootstrap, targets.worker_group, request_timeout_s=targets.timeout_s
            )
            self._reader = await reader.__aenter__()
        return dict(await self._reader.read(list(targets.topics.values())))

    async def _elasticsearch_counts(self) -> tuple[Served, Mapping[str, Any], int]:
        targets = self._targets
        try:
            mapping = await self._elasticsearch.indices.get_mapping(index=targets.chunks_alias)
            served = served_generation(mapping.body, targets.documents_index)
        except NotFoundError:
            served = served_generation({}, targets.documents_index)  # nothing indexed yet
        try:
            response = await self._elasticsearch.search(
                index=served.documents_index, **sources_query()
            )
            body: Mapping[str, Any] = response.body
        except NotFoundError:
            body = {}  # nothing indexed yet
        try:
            counted = await self._elasticsearch.count(index=targets.chunks_alias)
            chunks = int(counted["count"])
        except NotFoundError:
            chunks = 0
        return served, body, chunks


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    return f"{type(error).__name__}: {error}".strip()
