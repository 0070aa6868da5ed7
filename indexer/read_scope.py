"""Which local files an event may make the indexer read (pure; the I/O is in ``sources``).

A change event names what to index by URI. Remote ``http(s)`` URIs go through the asset
host and scheme allow-lists; a local one (``file://`` or an absolute path) is read only
inside the **roots of the event's source**:

    source                       roots
    ───────────────────────────  ───────────────────────────────────────────────────────
    ``cms:*`` (CMS, webhooks)    none, ever: a webhook can never name a local file
    listed in MMRAG_SOURCE_ROOTS those directories
    ``fs:*`` (the file watcher)  the watched root the watcher stamped on the event
                                 (``metadata.extra.root``), else MMRAG_ALLOWED_ROOTS
    any other source             none

``MMRAG_ALLOWED_ROOTS``, when set, is also a ceiling: a declared root outside it gives no
access. Paths are compared after resolving symbolic links, and the special file systems
(``/proc``, ``/sys``, ``/dev``) are refused whatever the roots say.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from indexer.errors import SourceNotAllowed
from indexer.events import ChangeEvent
from indexer.settings import IndexerSettings

FILE_SYSTEM_PREFIX = "fs:"
CMS_PREFIX = "cms:"
SPECIAL_FILE_SYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass(frozen=True)
class ReadScope:
    """The local directories one document's reads may touch (empty: none)."""

    source: str
    roots: tuple[Path, ...] = ()
    refusal: str = ""
    """Why there are no roots, for the dead letter."""


def local_path_of(uri: str) -> Path | None:
    """The local path of a ``file://`` URI (or a bare absolute path), else ``None``."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise SourceNotAllowed(f"file URI on another host ({parsed.netloc!r})", uri=uri)
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and uri.startswith("/"):
        return Path(uri)
    return None


def declared_root(event: ChangeEvent) -> str | None:
    """The watched root a file-system event says it comes from (the watcher stamps it)."""
    if not event.source.startswith(FILE_SYSTEM_PREFIX):
        return None
    root = event.metadata.extra.get("root")
    return root if isinstance(root, str) and os.path.isabs(root) else None


def scope_for(source: str, root: str | None, settings: IndexerSettings) -> ReadScope:
    """The roots of ``source`` given the root its event declared (see the module doc)."""
    if source.startswith(CMS_PREFIX):
        return ReadScope(source, refusal="CMS and webhook events may not name local files")
    configured = settings.source_roots.get(source)
    if configured is not None:
        roots = configured
    elif source.startswith(FILE_SYSTEM_PREFIX):
        roots = (Path(root),) if root is not None else settings.allowed_roots
    else:
        return ReadScope(
            source, refusal=f"source {source!r} has no local roots (see MMRAG_SOURCE_ROOTS)"
        )
    resolved = tuple(_resolved(path) for path in roots)
    if settings.allowed_roots:
        ceiling = tuple(_resolved(path) for path in settings.allowed_roots)
        resolved = tuple(path for path in resolved if _under(path, ceiling))
    if not resolved:
        return ReadScope(
            source, refusal=f"source {source!r} declares no root inside MMRAG_ALLOWED_ROOTS"
        )
    return ReadScope(source, resolved)


def scope_of(event: ChangeEvent, settings: IndexerSettings) -> ReadScope:
    return scope_for(event.source, declared_root(event), settings)


def check_local(path: Path, scope: ReadScope, uri: str) -> Path:
    """The real (symlink-free) path of ``path`` if ``scope`` may read it, else
    ``SourceNotAllowed`` with the reason."""
    if not scope.roots:
        raise SourceNotAllowed(scope.refusal or "no local files may be read", uri=uri)
    if not path.is_absolute():
        raise SourceNotAllowed(f"{path} is not an absolute path", uri=uri)
    real = _resolved(path)
    if not _under(real, scope.roots):
        raise SourceNotAllowed(
            f"{path} is outside the roots of source {scope.source!r}"
            + (f" (it resolves to {real})" if real != path else ""),
            uri=uri,
        )
    if _under(real, SPECIAL_FILE_SYSTEMS):
        raise SourceNotAllowed(f"{real} is on a special file system", uri=uri)
    return real


def inside(path: str, scope: ReadScope) -> bool:
    """Whether an already-real path (e.g. of an open file descriptor) is in ``scope``."""
    return _under(Path(path), scope.roots) and not _under(Path(path), SPECIAL_FILE_SYSTEMS)


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _under(path: Path, roots: tuple[Path, ...]) -> bool:
    pure = PurePosixPath(path)
    return any(pure.is_relative_to(PurePosixPath(root)) for root in roots)
