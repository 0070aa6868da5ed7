"""``GET /images/{chunk_id}``: a thumbnail of an indexed image, read from where it was
indexed. Nothing is stored in Elasticsearch but the vectors and the image's hash.

Where the bytes come from, by what the chunk records:

    image_reference set     an <img>/Markdown image or a CMS asset: resolved against the
                            document's uri and read through ``ContentReader.read_image``
    a PDF document          the PDF is read and only the image with the chunk's
                            ``image_index`` (and ``page``) is extracted
    an image document       the file itself

``ContentReader`` enforces the same roots as the worker (``indexer.read_scope``: the
source's roots in ``MMRAG_SOURCE_ROOTS``, else the watched root recorded in the document's
manifest, within ``MMRAG_ALLOWED_ROOTS``; that manifest is the served generation's, from its
own documents index when it chunks differently) and the allowed asset hosts, so the API
reads nothing the indexer could not; CMS documents never give a local file. The bytes must
still hash to the chunk's ``image_sha256``: an image that changed since it was indexed is
not served as if it were the one that matched.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import Any

from elasticsearch import AsyncElasticsearch

from indexer.errors import IndexerError, TransientError
from indexer.extract import ExtractionLimits
from indexer.read_scope import FILE_SYSTEM_PREFIX, ReadScope, local_path_of, scope_for
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.errors import ELASTICSEARCH_ERRORS, failure_reason, is_missing
from indexer.stored_image import NoStoredImage, read_stored_image
from query_api.access import Caller, may_read
from query_api.errors import NotFound, ServiceUnavailable
from query_api.images import FailureCache, ThumbnailCache, make_thumbnail
from query_api.index_space import IndexSpaceReader

IMAGE_FIELDS = [
    "doc_id",
    "source",
    "modality",
    "uri",
    "acl",
    "page",
    "image_index",
    "image_reference",
    "image_sha256",
    "content_type",
]


class ThumbnailService:
    def __init__(
        self,
        client: AsyncElasticsearch,
        store: IndexerSettings,
        reader: ContentReader,
        limits: ExtractionLimits,
        *,
        max_side: int,
        cache_size: int,
        failure_ttl_s: float = 30.0,
    ) -> None:
        self._client = client
        self._store = store
        self._reader = reader
        self._limits = limits
        self._max_side = max_side
        self.cache = ThumbnailCache(cache_size)
        self.failures = FailureCache(cache_size, failure_ttl_s)

    async def thumbnail(self, chunk_id: str, caller: Caller, spaces: IndexSpaceReader) -> bytes:
        """A JPEG thumbnail; 404 for an unknown, non-image or unreadable chunk. An image
        that could not be read is answered from memory for ``failure_ttl_s``, so repeated
        calls do not re-read or re-extract it. ``spaces``: the API's reading of the alias,
        for the served generation's documents index."""
        source = await self._chunk(chunk_id)
        if source.get("modality") != "image" or not may_read(source.get("acl"), caller):
            raise NotFound(f"no image chunk {chunk_id!r}")
        key = (chunk_id, str(source.get("image_sha256")))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        failure = self.failures.get(key)
        if failure is not None:
            raise NotFound(failure)
        try:
            data = await self._image_bytes(source, spaces)
            if hashlib.sha256(data).hexdigest() != source.get("image_sha256"):
                raise NotFound(f"the image of {chunk_id!r} changed since it was indexed")
            thumbnail = await asyncio.to_thread(
                make_thumbnail,
                data,
                max_side=self._max_side,
                max_pixels=self._limits.max_image_pixels,
            )
        except TransientError as error:
            raise ServiceUnavailable(f"the image is unavailable right now: {error}") from error
        except IndexerError as error:
            reason = f"the image of {chunk_id!r} cannot be read: {error.reason}"
            self.failures.put(key, reason)
            raise NotFound(reason) from error
        except NotFound as error:
            self.failures.put(key, error.reason)
            raise
        self.cache.put(key, thumbnail)
        return thumbnail

    async def _chunk(self, chunk_id: str) -> Mapping[str, Any]:
        return await self._get(self._store.chunks_alias, chunk_id, IMAGE_FIELDS, "chunk")

    async def _get(
        self, index: str, document_id: str, fields: list[str], what: str
    ) -> Mapping[str, Any]:
        try:
            response = await self._client.get(index=index, id=document_id, source_includes=fields)
        except ELASTICSEARCH_ERRORS as error:
            if is_missing(error):
                raise NotFound(f"no image {what} {document_id!r}") from error
            reason = failure_reason(error, f"reading {what} {document_id!r}")
            raise ServiceUnavailable(reason) from error
        return dict(response["_source"])

    async def _scope(
        self, source: Mapping[str, Any], target: str, spaces: IndexSpaceReader
    ) -> ReadScope:
        """The roots the worker read this document under: the source's configured roots,
        else the watched root its manifest records (looked up only for a local target)."""
        name = str(source.get("source", ""))
        root = None
        if (
            local_path_of(target) is not None
            and name.startswith(FILE_SYSTEM_PREFIX)
            and name not in self._store.source_roots
        ):
            documents_index = await spaces.documents_index(self._store.documents_index)
            try:
                manifest = await self._get(
                    documents_index,
                    str(source.get("doc_id", "")),
                    ["manifest.fields.root"],
                    "document",
                )
            except NotFound:  # no manifest: no declared root (MMRAG_ALLOWED_ROOTS decides)
                manifest = {}
            fields = manifest.get("manifest", {}).get("fields") or {}
            root = fields.get("root") if isinstance(fields.get("root"), str) else None
        return scope_for(name, root, self._store)

    async def _image_bytes(self, source: Mapping[str, Any], spaces: IndexSpaceReader) -> bytes:
        async def scope(target: str) -> ReadScope:
            return await self._scope(source, target, spaces)

        try:
            return await read_stored_image(self._reader, source, scope, self._limits)
        except NoStoredImage as error:
            raise NotFound(str(error)) from error
