"""The bytes of a stored image chunk, read again from where the worker read it (a new
CLIP model needs the image itself, which the index does not keep).

The same reads, under the same roots, as the worker's: ``image_reference`` resolved
against the document's uri (HTML ``<img>``, Markdown, CMS assets), the PDF's image
number ``image_index``, or the image file itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from indexer.extract import ExtractionLimits, resolve_content_type
from indexer.extract.pdf import extract_pdf_image
from indexer.read_scope import scope_for
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader


class StoredImageReader:
    def __init__(self, reader: ContentReader, settings: IndexerSettings) -> None:
        self._reader = reader
        self._settings = settings
        self._limits = ExtractionLimits(
            max_bytes=settings.max_document_bytes, max_image_pixels=settings.max_image_pixels
        )

    async def read(self, source: Mapping[str, Any], root: str | None) -> bytes:
        """``root``: the watched root the manifest records (``fields.root``). Raises
        whatever the read raises (a file gone, outside the roots, …)."""
        uri = str(source.get("uri", ""))
        scope = scope_for(str(source.get("source", "")), root, self._settings)
        reference = source.get("image_reference")
        if reference:
            return await self._reader.read_image(str(reference), uri, scope)
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        content_type = resolve_content_type(source.get("content_type"), name)
        document = await self._reader.read_document(uri, scope)
        if content_type == "application/pdf":
            index, page = source.get("image_index"), source.get("page")
            if not isinstance(index, int):
                raise ValueError("the chunk records no image number")
            return await asyncio.to_thread(
                extract_pdf_image,
                document,
                index=index,
                page=page if isinstance(page, int) else None,
                limits=self._limits,
            )
        if content_type and content_type.startswith("image/"):
            return document
        raise ValueError(f"no image behind {uri!r} (content type {content_type})")
