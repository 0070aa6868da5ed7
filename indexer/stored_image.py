"""The bytes of a stored image chunk, read again from where the worker read it: the index
keeps an image chunk's vector and where it came from, not the image. A new CLIP model
(``indexer.generations.stored_images``) and the API's thumbnails
(``query_api.thumbnails``) need the image itself.

Where, from the chunk's source fields: ``image_reference`` resolved against the
document's ``uri`` (HTML ``<img>``, Markdown, CMS assets); the PDF's image number
``image_index`` (on ``page``), of the document at ``uri``; or the image file at ``uri``.
The caller says under which roots each target may be read (``scope_for_target``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from indexer.extract import ExtractionLimits, resolve_content_type
from indexer.extract.pdf import extract_pdf_image
from indexer.read_scope import ReadScope
from indexer.sources import ContentReader, resolve_reference

ScopeForTarget = Callable[[str], Awaitable[ReadScope]]
"""The read scope for a target uri (the image's, or its document's)."""


class NoStoredImage(ValueError):
    """The chunk names no image that can be read again (no image number, not an image)."""


async def read_stored_image(
    reader: ContentReader,
    source: Mapping[str, Any],
    scope_for_target: ScopeForTarget,
    limits: ExtractionLimits,
) -> bytes:
    """The image's encoded bytes. Raises :class:`NoStoredImage`, or whatever the read
    raises (a file gone, outside the roots, a source down: ``indexer.errors``)."""
    uri = str(source.get("uri", ""))
    reference = source.get("image_reference")
    if reference:
        scope = await scope_for_target(resolve_reference(str(reference), uri))
        return await reader.read_image(str(reference), uri, scope)
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    content_type = resolve_content_type(source.get("content_type"), name)
    if content_type == "application/pdf":
        index, page = source.get("image_index"), source.get("page")
        if not isinstance(index, int):
            raise NoStoredImage("the chunk records no image number")
        document = await reader.read_document(uri, await scope_for_target(uri))
        return await asyncio.to_thread(
            extract_pdf_image,
            document,
            index=index,
            page=page if isinstance(page, int) else None,
            limits=limits,
        )
    if content_type and content_type.startswith("image/"):
        return await reader.read_document(uri, await scope_for_target(uri))
    raise NoStoredImage(f"no stored image behind {uri!r} (content type {content_type})")
