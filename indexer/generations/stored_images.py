"""The bytes of a stored image chunk for a generation build (a new CLIP model needs the
image itself): ``indexer.stored_image``, under the roots the worker read the document
under (the source's configured roots, else the watched root its manifest records).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indexer.extract import ExtractionLimits
from indexer.read_scope import ReadScope, scope_for
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.stored_image import read_stored_image


class StoredImageReader:
    def __init__(self, reader: ContentReader, settings: IndexerSettings) -> None:
        self._reader = reader
        self._settings = settings
        self._limits = ExtractionLimits(
            max_bytes=settings.max_document_bytes, max_image_pixels=settings.max_image_pixels
        )

    async def read(self, source: Mapping[str, Any], root: str | None) -> bytes:
        """``root``: the watched root the manifest records (``fields.root``). Raises
        ``NoStoredImage`` or whatever the read raises (a file gone, outside the roots, …)."""
        scope = scope_for(str(source.get("source", "")), root, self._settings)

        async def same_scope(_target: str) -> ReadScope:
            return scope

        return await read_stored_image(self._reader, source, same_scope, self._limits)
