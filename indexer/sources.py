"""Reading what an event points at: a local file inside its source's roots, or an allowed
URL. Which local files a document may read is decided in ``indexer.read_scope``.

Local files are opened without blocking (a FIFO cannot hang the worker), must be regular
files (no devices, FIFOs or sockets), must still be inside the roots once open (a
directory swapped for a symbolic link after the check is caught), and are read to at
most the byte limit + 1: the size on disk is never trusted (``/dev/zero`` says 0).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import stat
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx

from indexer.errors import ExtractionError, SourceGone, SourceNotAllowed, SourceUnavailable
from indexer.events import ChangeEvent
from indexer.read_scope import ReadScope, check_local, inside, local_path_of, scope_of
from indexer.settings import IndexerSettings

_READ_BLOCK = 1024 * 1024
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)

__all__ = ["ContentReader", "local_path_of", "read_local_file", "resolve_reference"]


class ContentReader:
    def __init__(self, settings: IndexerSettings, client: httpx.AsyncClient | None = None):
        self._settings = settings
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def scope_of(self, event: ChangeEvent) -> ReadScope:
        """The local roots ``event`` may read (none for CMS and webhook events)."""
        return scope_of(event, self._settings)

    async def read_document(self, uri: str, scope: ReadScope) -> bytes:
        path = local_path_of(uri)
        if path is None:
            return await self._fetch(uri, self._settings.max_document_bytes)
        real = check_local(path, scope, uri)
        limit = self._settings.max_document_bytes
        return await asyncio.to_thread(read_local_file, real, scope, limit, uri)

    async def read_image(self, reference: str, document_uri: str, scope: ReadScope) -> bytes:
        """An image referenced by a document (relative references resolve against it)."""
        target = resolve_reference(reference, document_uri)
        path = local_path_of(target)
        if path is not None:
            real = check_local(path, scope, target)
            limit = self._settings.max_asset_bytes
            return await asyncio.to_thread(read_local_file, real, scope, limit, target)
        return await self._fetch(target, self._settings.max_asset_bytes)

    async def _fetch(self, url: str, limit: int) -> bytes:
        parsed = urlparse(url)
        if parsed.scheme not in self._settings.asset_allowed_schemes:
            raise SourceNotAllowed(f"scheme {parsed.scheme!r} is not allowed", uri=url)
        if parsed.hostname not in self._settings.asset_allowed_hosts:
            raise SourceNotAllowed(
                f"host {parsed.hostname!r} is not in MMRAG_ASSET_ALLOWED_HOSTS", uri=url
            )
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._settings.fetch_timeout_s, follow_redirects=False
            )
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code >= 500:
                    raise SourceUnavailable(f"{url} answered {response.status_code}", uri=url)
                if response.status_code != 200:
                    raise ExtractionError(f"{url} answered {response.status_code}", uri=url)
                body = bytearray()
                async for block in response.aiter_bytes():
                    body.extend(block)
                    if len(body) > limit:
                        raise ExtractionError(f"{url} is over the {limit} byte limit", uri=url)
                return bytes(body)
        except httpx.TransportError as error:
            raise SourceUnavailable(f"cannot fetch {url}: {error}", uri=url) from error


def read_local_file(real: Path, scope: ReadScope, limit: int, uri: str) -> bytes:
    """The bytes of the regular file at ``real`` (already checked against ``scope``), at
    most ``limit`` of them; anything else is a ``PermanentError`` with the reason."""
    try:
        descriptor = os.open(real, _OPEN_FLAGS)
    except FileNotFoundError as error:
        raise SourceGone("file no longer exists", uri=uri) from error
    except IsADirectoryError as error:
        raise ExtractionError("path is a directory", uri=uri) from error
    except PermissionError as error:
        raise ExtractionError("file is not readable (permission denied)", uri=uri) from error
    except OSError as error:  # ELOOP: the last component became a symbolic link
        raise ExtractionError(f"file cannot be opened: {error.strerror}", uri=uri) from error
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise ExtractionError("path is a directory", uri=uri)
        if not stat.S_ISREG(mode):
            raise ExtractionError("not a regular file (a device, FIFO or socket)", uri=uri)
        opened = _opened_path(descriptor)
        if opened is not None and not inside(opened, scope):
            raise SourceNotAllowed(f"{real} moved outside the roots while being opened", uri=uri)
        body = bytearray()
        while len(body) <= limit:
            block = handle.read(min(_READ_BLOCK, limit + 1 - len(body)))
            if not block:
                return bytes(body)
            body.extend(block)
    raise ExtractionError(f"file is over the {limit} byte limit", uri=uri)


def _opened_path(descriptor: int) -> str | None:
    """Where an open descriptor really points (Linux), or ``None`` where unknown."""
    try:
        return os.readlink(f"/proc/self/fd/{descriptor}")
    except OSError:
        return None


def resolve_reference(reference: str, document_uri: str) -> str:
    """An absolute URI for an image reference found in a document."""
    if urlparse(reference).scheme:
        return reference
    base = urlparse(document_uri)
    if base.scheme == "file" or (base.scheme == "" and document_uri.startswith("/")):
        directory = posixpath.dirname(unquote(base.path))
        return Path(posixpath.normpath(posixpath.join(directory, unquote(reference)))).as_uri()
    return urljoin(document_uri, reference)
