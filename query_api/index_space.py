"""What the current chunk generation's vectors were made with (its mapping's ``_meta``),
and where its manifests are.

Query vectors must come from the models the index was built with: a different dimension
would make Elasticsearch refuse the kNN query, a different model with the same dimension
would silently return nonsense. The API reads the generation's ``_meta`` (cached a short
while, since the alias can move to a new generation) and checks its encoders against it.

A generation that chunks differently keeps its manifests in its own documents index
(``GenerationMeta.documents_index``): what reads the served generation's manifests (the
document route, thumbnails, ``/health``) reads :meth:`IndexSpace.documents_index_or`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch

from indexer.encoders.base import Encoders, TextEmbedder
from indexer.generations.meta import documents_index_in
from indexer.store.errors import ELASTICSEARCH_ERRORS, failure_reason, is_missing
from query_api.errors import ServiceUnavailable

logger = logging.getLogger(__name__)


def _base_name(model: str | None) -> str | None:
    """Precision does not change which space vectors live in: ``x@bf16`` ≈ ``x``."""
    return model.removesuffix("@bf16") if model else model


@dataclass(frozen=True)
class IndexSpace:
    generation: str
    text_model: str | None
    text_dimensions: int | None
    clip_model: str | None
    clip_dimensions: int | None
    documents_index: str | None = None
    """The generation's own documents index; ``None``: the shared one."""

    @classmethod
    def from_meta(cls, generation: str, meta: dict[str, Any]) -> IndexSpace:
        return cls(
            generation=generation,
            text_model=meta.get("text_model"),
            text_dimensions=meta.get("text_dimensions"),
            clip_model=meta.get("clip_model"),
            clip_dimensions=meta.get("clip_dimensions"),
            documents_index=documents_index_in(meta),
        )

    def documents_index_or(self, shared: str) -> str:
        """The index holding this generation's manifests (``shared``:
        ``MMRAG_DOCUMENTS_INDEX``)."""
        return self.documents_index or shared

    def check_text(self, encoder: TextEmbedder) -> None:
        """Text kNN is impossible when the dimensions differ (503, with both models)."""
        if self.text_dimensions != encoder.dimensions:
            raise ServiceUnavailable(
                f"index {self.generation} was built with text model {self.text_model} "
                f"({self.text_dimensions} dims) but this API embeds queries with "
                f"{encoder.name} ({encoder.dimensions} dims): configure MMRAG_TEXT_MODEL alike"
            )

    def model_mismatches(self, encoders: Encoders) -> list[str]:
        """Models that differ between the index and this API (vectors would not match)."""
        problems = []
        if not same_model(self.text_model, encoders.text.name):
            problems.append(f"text model: index {self.text_model}, API {encoders.text.name}")
        clip = encoders.clip.name if encoders.clip else None
        if self.clip_model and not same_model(self.clip_model, clip):
            problems.append(f"CLIP model: index {self.clip_model}, API {clip}")
        return problems


class IndexSpaceReader:
    def __init__(self, client: AsyncElasticsearch, alias: str, ttl_s: float = 30.0) -> None:
        self._client = client
        self._alias = alias
        self._ttl_s = ttl_s
        self._cached: IndexSpace | None = None
        self._read_at = 0.0

    def forget(self) -> None:
        self._cached = None

    async def read(self) -> IndexSpace | None:
        """The current generation's space, or ``None`` when nothing is indexed yet."""
        now = time.monotonic()
        if self._cached is not None and now - self._read_at < self._ttl_s:
            return self._cached
        try:
            response = await self._client.indices.get_mapping(index=self._alias)
        except ELASTICSEARCH_ERRORS as error:
            if is_missing(error):
                self._cached = None
                return None
            reason = failure_reason(error, "reading the chunk index mapping")
            raise ServiceUnavailable(reason) from error
        generation = sorted(response.body)[-1]
        meta = response.body[generation]["mappings"].get("_meta", {})
        space = IndexSpace.from_meta(generation, meta)
        if space != self._cached:
            logger.info("index_space generation=%s meta=%s", generation, meta)
        self._cached, self._read_at = space, now
        return space

    async def documents_index(self, shared: str) -> str:
        """The served generation's documents index (``shared`` while nothing is indexed);
        raises :class:`ServiceUnavailable` when Elasticsearch cannot say."""
        space = await self.read()
        return space.documents_index_or(shared) if space is not None else shared


def same_model(indexed: str | None, loaded: str | None) -> bool:
    return _base_name(indexed) == _base_name(loaded)
