"""Reading what an event points at: a local file, inline text, or an allowed URL."""

from __future__ import annotations

import asyncio
import posixpath
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx

from indexer.errors import ExtractionError, SourceNotAllowed, SourceUnavailable
from indexer.settings import IndexerSettings


def local_path_of(uri: str) -> Path | None:
    """The local path of a ``file://`` URI (or a bare absolute path), else ``None``."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and uri.startswith("/"):
        return Path(uri)
    return None


def is_within(path: Path, roots: tuple[Path, ...]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


class ContentReader:
    def __init__(self, settings: IndexerSettings, client: httpx.AsyncClient | None = None):
        self._settings = settings
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _check_local(self, path: Path, uri: str) -> None:
        roots = self._settings.allowed_roots
        if roots and not is_within(path, roots):
            raise SourceNotAllowed(f"{path} is outside the allowed roots", uri=uri)

    async def read_document(self, uri: str) -> bytes:
        path = local_path_of(uri)
        if path is None:
            return await self._fetch(uri, self._settings.max_document_bytes)
        self._check_local(path, uri)
        return await asyncio.to_thread(self._read_file, path, uri)

    def _read_file(self, path: Path, uri: str) -> bytes:
        try:
            size = path.stat().st_size
            if size > self._settings.max_document_bytes:
                raise ExtractionError(
                    f"file is {size} bytes, over the {self._settings.max_document_bytes} "
                    "byte limit",
                    uri=uri,
                )
            return path.read_bytes()
        except FileNotFoundError as error:
            raise ExtractionError("file no longer exists", uri=uri) from error
        except IsADirectoryError as error:
            raise ExtractionError("path is a directory", uri=uri) from error
        except PermissionError as error:
            raise ExtractionError("file is not readable (permission denied)", uri=uri) from error

    async def read_image(self, reference: str, document_uri: str) -> bytes:
        """An image referenced by a document (relative references resolve against it)."""
        target = resolve_reference(reference, document_uri)
        path = local_path_of(target)
        if path is not None:
            self._check_local(path, target)
            return await asyncio.to_thread(self._read_file, path, target)
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


def resolve_reference(reference: str, document_uri: str) -> str:
    """An absolute URI for an image reference found in a document."""
    if urlparse(reference).scheme:
        return reference
    base = urlparse(document_uri)
    if base.scheme == "file" or (base.scheme == "" and document_uri.startswith("/")):
        directory = posixpath.dirname(unquote(base.path))
        return Path(posixpath.normpath(posixpath.join(directory, unquote(reference)))).as_uri()
    return urljoin(document_uri, reference)
