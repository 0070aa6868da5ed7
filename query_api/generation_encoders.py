"""Query encoders per index generation: the API follows the alias to a generation built
with other models without a restart, embedding each query with the models of the
generation it searches.

The configured encoders serve a generation that names them; another generation's are
loaded once (``indexer.generations.encoders.EncoderCache``, by encoder name) and get their
own micro-batching embedders. Encoders of a generation that is being built or is ready
are loaded in the background before a promotion needs them (``maybe_preload``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from elasticsearch import AsyncElasticsearch

from indexer.encoders.base import Encoders
from indexer.generations.encoders import EncoderCache
from indexer.generations.meta import GenerationConfig
from indexer.generations.registry import GenerationRegistry
from query_api.embedding import BatchingEmbedder
from query_api.index_space import IndexSpace, same_model

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)


@dataclass
class QueryEmbedders:
    encoders: Encoders
    text: BatchingEmbedder[str]
    clip_text: BatchingEmbedder[str] | None
    clip_image: BatchingEmbedder[Image.Image] | None

    @classmethod
    def of(cls, encoders: Encoders, executor: Executor) -> QueryEmbedders:
        clip = encoders.clip
        return cls(
            encoders,
            BatchingEmbedder(encoders.text.embed_texts, executor),
            BatchingEmbedder(clip.embed_texts, executor) if clip else None,
            BatchingEmbedder(clip.embed_images, executor) if clip else None,
        )

    async def close(self) -> None:
        for batcher in (self.text, self.clip_text, self.clip_image):
            if batcher is not None:
                await batcher.close()


def serves(encoders: Encoders, space: IndexSpace) -> bool:
    """Whether these encoders make the vectors of ``space`` (or it records no models)."""
    if space.text_model is None:
        return True
    clip = encoders.clip.name if encoders.clip else None
    text_ok = same_model(space.text_model, encoders.text.name)
    return text_ok and (space.clip_model is None or same_model(space.clip_model, clip))


async def index_build(client: AsyncElasticsearch, alias: str) -> dict[str, Any] | None:
    """The newest generation being built or ready (for ``/health``), or ``None``; never
    raises (a health check reports what it can)."""
    try:
        return await GenerationRegistry(client, alias).build_status()
    except Exception as error:
        logger.warning("index_build_unknown error=%s", error)
        return None


class GenerationEmbedders:
    def __init__(
        self,
        configured: Encoders,
        executor: Executor,
        cache: EncoderCache,
        *,
        client: AsyncElasticsearch | None = None,
        alias: str | None = None,
        preload_every_s: float = 15.0,
    ) -> None:
        self._executor = executor
        self._cache = cache
        self._configured = QueryEmbedders.of(configured, executor)
        self._others: dict[tuple[str | None, str | None], QueryEmbedders] = {}
        self._lock = asyncio.Lock()
        self._registry = GenerationRegistry(client, alias) if client and alias else None
        self._preload_every_s = preload_every_s
        self._preloaded_at = float("-inf")
        self._preloading: asyncio.Task[None] | None = None

    async def for_space(self, space: IndexSpace) -> QueryEmbedders:
        self.maybe_preload()
        if serves(self._configured.encoders, space):
            return self._configured
        key = (space.text_model, space.clip_model)
        async with self._lock:
            if key not in self._others:
                config = GenerationConfig(
                    text_model=str(space.text_model),
                    text_dimensions=int(space.text_dimensions or 0),
                    clip_model=space.clip_model,
                    clip_dimensions=space.clip_dimensions,
                )
                encoders = await asyncio.to_thread(self._cache.encoders, config)
                logger.info("query_encoders generation=%s %s", space.generation, key)
                self._others[key] = QueryEmbedders.of(encoders, self._executor)
            return self._others[key]

    def maybe_preload(self) -> None:
        """Load, in the background, the encoders of generations being built or ready."""
        now = time.monotonic()
        busy = self._preloading is not None and not self._preloading.done()
        if self._registry is None or busy or now - self._preloaded_at < self._preload_every_s:
            return
        self._preloaded_at = now
        self._preloading = asyncio.create_task(self._preload(self._registry))

    async def _preload(self, registry: GenerationRegistry) -> None:
        try:
            for generation in await registry.list():
                config = generation.meta.config
                if generation.live or generation.meta.state not in ("building", "ready"):
                    continue
                if not self._cache.loaded(config):
                    logger.info("preloading_encoders generation=%s", generation.name)
                    await asyncio.to_thread(self._cache.encoders, config)
        except Exception:  # a preload is an optimisation: searching loads on demand
            logger.exception("preloading_encoders_failed")

    async def close(self) -> None:
        if self._preloading is not None:
            self._preloading.cancel()
        await self._configured.close()
        for embedders in self._others.values():
            await embedders.close()
