"""The generations of the chunk alias in Elasticsearch: list them, create one, keep its
``_meta`` current, switch the alias atomically, drop one.

A generation is the index ``<alias>-<NNNNNN>``; its mapping's ``_meta`` is its record
(:mod:`indexer.generations.meta`); the alias points at the live one. Switching is one
``_aliases`` request (remove + add, the new index as write index), so a reader sees the
old generation or the new one, never neither.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from indexer.generations.meta import GenerationMeta, GenerationMetaError
from indexer.generations.naming import (
    generation_documents_index,
    next_generation,
    ordered_generations,
)
from indexer.store.mappings import IndexLayout, chunk_index_body, documents_index_body

logger = logging.getLogger(__name__)


class GenerationError(RuntimeError):
    """A generation command cannot be done as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class Generation:
    name: str
    meta: GenerationMeta
    live: bool
    chunks: int = 0
    size_bytes: int = 0


class GenerationRegistry:
    def __init__(
        self,
        client: AsyncElasticsearch,
        alias: str,
        *,
        index_type: str = "int8_hnsw",
        refresh_interval: str = "1s",
        layout: IndexLayout | None = None,
        documents_layout: IndexLayout | None = None,
    ) -> None:
        """The three index options apply to generations this registry creates
        (``MMRAG_VECTOR_INDEX_TYPE``, ``MMRAG_REFRESH_INTERVAL``, ``MMRAG_CHUNK_SHARDS`` /
        ``_REPLICAS``: a new generation is where a new shard count takes effect);
        ``documents_layout`` to a chunking group's own documents index
        (``MMRAG_DOCUMENTS_SHARDS`` / ``_REPLICAS``, as the shared one)."""
        self._layout = layout or IndexLayout()
        self._documents_layout = documents_layout or IndexLayout()
        self._client = client
        self._alias = alias
        self._index_type = index_type
        self._refresh_interval = refresh_interval

    @property
    def alias(self) -> str:
        return self._alias

    @property
    def client(self) -> AsyncElasticsearch:
        return self._client

    async def live_name(self) -> str | None:
        try:
            found = await self._client.indices.get_alias(name=self._alias)
        except NotFoundError:
            return None
        names = sorted(str(name) for name in found.body)
        return names[-1] if names else None

    async def list(self, *, with_stats: bool = False) -> list[Generation]:
        """Every generation, oldest first."""
        try:
            mappings = await self._client.indices.get_mapping(
                index=f"{self._alias}-*", allow_no_indices=True, expand_wildcards="open"
            )
        except NotFoundError:
            return []
        names = ordered_generations(self._alias, (str(name) for name in mappings.body))
        live = await self.live_name()
        stats: dict[str, Any] = {}
        created: dict[str, datetime] = {}
        if with_stats and names:
            response = await self._client.indices.stats(index=",".join(names), metric="docs,store")
            stats = response.body.get("indices", {})
            created = await self._creation_dates(names)
        found = []
        for name in names:
            try:
                meta = GenerationMeta.from_meta(
                    mappings.body[name]["mappings"].get("_meta", {}), live=name == live
                )
            except GenerationMetaError as error:  # not ours to write or show
                logger.warning("generation_unreadable name=%s %s", name, error)
                continue
            if meta.created is None and name in created:
                meta = meta.model_copy(update={"created": created[name]})
            totals = stats.get(name, {}).get("primaries", {})
            found.append(
                Generation(
                    name=name,
                    meta=meta,
                    live=name == live,
                    chunks=int(totals.get("docs", {}).get("count", 0)),
                    size_bytes=int(totals.get("store", {}).get("size_in_bytes", 0)),
                )
            )
        return found

    async def _creation_dates(self, names: Sequence[str]) -> dict[str, datetime]:
        """When Elasticsearch created each index (for generations older than their
        ``created`` record)."""
        response = await self._client.indices.get_settings(
            index=",".join(names), name="index.creation_date"
        )
        dates = {}
        for name, body in response.body.items():
            millis = body.get("settings", {}).get("index", {}).get("creation_date")
            if millis is not None:
                dates[str(name)] = datetime.fromtimestamp(int(millis) / 1000, UTC)
        return dates

    async def get(self, name: str) -> Generation:
        for generation in await self.list():
            if generation.name == name:
                return generation
        raise GenerationError(f"no generation {name!r} of {self._alias}")

    async def live(self) -> Generation:
        for generation in await self.list():
            if generation.live:
                return generation
        raise GenerationError(
            f"the alias {self._alias} points at no generation: index something first"
        )

    async def build_status(self) -> dict[str, Any] | None:
        """The newest generation being built or ready to promote, for a status line:
        name, state, documents done and total, ETA, share of vectors reused."""
        pending = [
            g for g in await self.list() if not g.live and g.meta.state in ("building", "ready")
        ]
        if not pending:
            return None
        newest = pending[-1]
        build = newest.meta.build
        return {
            "generation": newest.name,
            "state": newest.meta.state,
            "documents_done": build.documents_done,
            "documents_total": build.documents_total,
            "eta_s": build.eta_seconds(),
            # A chunker change is re-indexed by the worker (its vectors copied where a
            # chunk id is unchanged, counted in the worker's log, not here).
            "vectors_reused": None if newest.meta.documents_index else round(build.reused_share, 3),
        }

    async def create(self, meta: GenerationMeta, *, own_documents: str | None = None) -> str:
        """A new, empty generation after the highest existing one (not on the alias).

        ``own_documents`` (the shared documents index's name): the generation chunks
        differently, so it gets its own documents index
        (``naming.generation_documents_index``), created first, so that a worker that
        sees the generation always finds where its manifests go."""
        existing = [generation.name for generation in await self.list()]
        name = next_generation(self._alias, existing)
        if own_documents is not None:
            documents = generation_documents_index(own_documents, self._alias, name)
            meta = meta.model_copy(update={"documents_index": documents})
            await self.ensure_documents_index(documents)
        body = chunk_index_body(
            meta.config.space,
            index_type=self._index_type,
            refresh_interval=self._refresh_interval,
            layout=self._layout,
        )
        body["mappings"]["_meta"] = meta.to_meta()
        await self._client.indices.create(index=name, **body)
        logger.info(
            "generation_created name=%s documents=%s %s",
            name,
            meta.documents_index or "shared",
            meta.config.describe(),
        )
        return name

    async def ensure_documents_index(self, index: str) -> None:
        """A chunking group's documents index (the shared one's mapping and this
        registry's layout), unless it exists."""
        if not await self._client.indices.exists(index=index):
            await self._client.indices.create(
                index=index, **documents_index_body(self._documents_layout)
            )
            logger.info("documents_index_created name=%s", index)

    async def save(self, name: str, meta: GenerationMeta) -> None:
        await self._client.indices.put_mapping(index=name, meta=meta.to_meta())

    async def switch(self, to: str) -> str | None:
        """Point the alias at ``to`` in one request; returns the generation it left.

        The states follow: ``to`` becomes ``live``, the one left ``retired`` (kept, and
        still written by the worker, for a rollback)."""
        generations = {generation.name: generation for generation in await self.list()}
        if to not in generations:
            raise GenerationError(f"no generation {to!r} of {self._alias}")
        left = next((g for g in generations.values() if g.live), None)
        if left is not None and left.name == to:
            return None
        actions: list[dict[str, Any]] = []
        if left is not None:
            actions.append({"remove": {"index": left.name, "alias": self._alias}})
        actions.append({"add": {"index": to, "alias": self._alias, "is_write_index": True}})
        await self._client.indices.update_aliases(actions=actions)
        now = datetime.now(UTC)
        target = generations[to].meta
        await self.save(to, target.model_copy(update={"state": "live", "promoted": now}))
        if left is not None:
            await self.save(left.name, left.meta.model_copy(update={"state": "retired"}))
        logger.info("generation_switched to=%s from=%s", to, left.name if left else None)
        return left.name if left else None

    async def drop(self, name: str) -> str | None:
        """Delete a generation that is not live, and its own documents index when no
        other generation keeps its manifests there; returns that index if deleted."""
        generations = await self.list()
        generation = next((g for g in generations if g.name == name), None)
        if generation is None:
            raise GenerationError(f"no generation {name!r} of {self._alias}")
        if generation.live:
            raise GenerationError(
                f"{name} is live: promote or roll back to another generation first"
            )
        await self._client.indices.delete(index=name)
        logger.info("generation_dropped name=%s", name)
        documents = generation.meta.documents_index
        shared = any(g.meta.documents_index == documents for g in generations if g.name != name)
        if documents is None or shared:
            return None
        await self._client.indices.delete(index=documents, ignore_unavailable=True)
        logger.info("documents_index_dropped name=%s generation=%s", documents, name)
        return documents


def rollback_target(generations: list[Generation]) -> Generation:
    """The generation a rollback returns to: the retired one promoted most recently (the
    one that was live before), else the newest retired one."""
    retired = [g for g in generations if not g.live and g.meta.state == "retired"]
    if not retired:
        raise GenerationError("no retired generation to roll back to")
    floor = datetime.min.replace(tzinfo=UTC)
    return max(
        retired,
        key=lambda g: (g.meta.promoted or floor, g.name),
    )
