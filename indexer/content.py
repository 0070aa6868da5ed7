"""A document's content: its bytes read from the source, then extracted and chunked.

What cannot be had is an :class:`Unreadable` value saying at which stage and why (the
document fails alone), not an exception; only a :class:`TransientError` other than an
unavailable source (the store, say) propagates. Extraction and chunking run in worker
threads within the extraction budget, so a pathological file cannot hold the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace

from indexer.chunks import Chunk, ChunkingOptions, build_chunks
from indexer.dead_letters import Stage
from indexer.documents import ExtractedDocument, ImagePart
from indexer.errors import PermanentError, SourceGone, SourceUnavailable, TransientError
from indexer.events import ChangeEvent
from indexer.extract import ExtractionLimits, extract_document
from indexer.source_retry import BatchSources
from indexer.sources import ContentReader

logger = logging.getLogger(__name__)

WATCHED_SOURCE_PREFIX = "fs:"
"""Sources of the file watcher: a file they name that is gone has a delete coming."""


@dataclass(frozen=True)
class Unreadable:
    """Why a document's content could not be had. ``superseded``: a watched file was
    deleted or renamed after the upsert was sent; the watcher's delete or move follows,
    so there is nothing to index and nothing to dead-letter."""

    stage: Stage
    reason: str
    superseded: bool = False


@dataclass(frozen=True)
class Extracted:
    title: str
    """The source's title, else the page's own, else the file name."""
    chunks: list[Chunk]


class DocumentContent:
    """Reads, extracts and chunks documents with one reader, limits and chunking."""

    def __init__(
        self,
        reader: ContentReader,
        chunking: ChunkingOptions,
        limits: ExtractionLimits,
        extract_timeout_s: float,
    ) -> None:
        self._reader = reader
        self._chunking = chunking
        self._limits = limits
        self._budget = extract_timeout_s

    async def read(self, event: ChangeEvent, uri: str, sources: BatchSources) -> bytes | Unreadable:
        """The document's bytes (inline text, or read from ``uri``)."""
        try:
            return await sources.read(lambda: self._read(event, uri), uri)
        except SourceUnavailable as error:
            return Unreadable("fetch", error.reason)
        except SourceGone as error:
            if event.source.startswith(WATCHED_SOURCE_PREFIX):
                logger.info(
                    "upsert_superseded doc_id=%s uri=%s reason=%s", event.doc_id, uri, error
                )
                return Unreadable("extract", error.reason, superseded=True)
            return Unreadable("extract", error.reason)
        except PermanentError as error:
            return Unreadable("extract", error.reason)
        except Exception as error:  # an unexpected OS error, say: this document only
            logger.exception("read_crashed doc_id=%s uri=%s", event.doc_id, uri)
            return Unreadable("fetch", f"reading crashed: {type(error).__name__}: {error}")

    async def extract(self, event: ChangeEvent, uri: str, data: bytes) -> Extracted | Unreadable:
        """The document's chunks, its images fetched (those that cannot be had skipped)."""
        budget = self._budget
        try:
            document = await asyncio.wait_for(
                asyncio.to_thread(
                    extract_document,
                    data,
                    event.content_type,
                    name=name_of(uri),
                    limits=self._limits,
                ),
                budget,
            )
            document = await self._with_assets(document, event, uri)
            title = event.metadata.title or document.title or name_of(uri)
            chunks = await asyncio.wait_for(
                asyncio.to_thread(build_chunks, event.doc_id, document, self._chunking, title),
                budget,
            )
        except TransientError:
            raise
        except TimeoutError:
            return Unreadable(
                "extract",
                f"extraction took longer than its budget of {budget:g} s "
                "(MMRAG_EXTRACT_TIMEOUT_S); the document is too large or pathological",
            )
        except PermanentError as error:
            return Unreadable("extract", error.reason)
        except Exception as error:  # a parser blowing up (RecursionError …): this one only
            logger.exception("extraction_crashed doc_id=%s uri=%s", event.doc_id, uri)
            return Unreadable("extract", f"extraction crashed: {type(error).__name__}: {error}")
        return Extracted(title, chunks)

    async def _read(self, event: ChangeEvent, uri: str) -> bytes:
        if event.text is not None:
            return event.text.encode()
        return await self._reader.read_document(uri, self._reader.scope_of(event))

    async def _with_assets(
        self, document: ExtractedDocument, event: ChangeEvent, uri: str
    ) -> ExtractedDocument:
        """Fetch referenced images (HTML/Markdown ``<img>``, CMS assets); skip those that
        cannot be had, with a warning — the document's text is still indexed."""
        images = list(document.image_parts)
        images.extend(
            ImagePart(
                data=b"",
                content_type=asset.content_type,
                reference=asset.uri,
                alt_text=asset.alt_text,
                caption=asset.caption,
                index=len(images) + number,
            )
            for number, asset in enumerate(event.assets)
        )
        resolved: list[ImagePart] = []
        warnings = list(document.warnings)
        for image in images:
            if image.data or image.reference is None:
                resolved.append(image)
                continue
            try:
                scope = self._reader.scope_of(event)
                data = await self._reader.read_image(image.reference, uri, scope)
            except Exception as error:
                warnings.append(f"image {image.reference} skipped: {error}")
                continue
            resolved.append(replace(image, data=data))
        for warning in warnings:
            logger.info("extraction_warning doc_id=%s %s", event.doc_id, warning)
        return replace(document, image_parts=tuple(resolved), warnings=tuple(warnings))


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def name_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]
