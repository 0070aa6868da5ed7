"""Looking at files on disk: walking a tree and taking each file's size, mtime and hash."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stream.watcher.filters import PathFilter
from stream.watcher.planning import KnownFile, ObservedFile

_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileProblem:
    """A file the watcher cannot index; reported once per distinct ``signature``."""

    path: str
    reason: str
    signature: str


def walk_files(root: Path, path_filter: PathFilter, start: str = "") -> Iterator[str]:
    """Relative '/'-separated paths of the wanted files under ``root/start``.

    Symbolic links to directories are never walked into (``followlinks=False``, and a
    ``start`` that is a link or leads out of the root gives nothing), so a walk neither
    leaves the root nor loops. Links to files are listed; ``observe_file`` refuses those
    that point out of the root."""
    top = root / start if start else root
    if start and (top.is_symlink() or not inside_root(root, top)):
        return
    for directory, subdirectories, files in os.walk(top, followlinks=False):
        relative_directory = os.path.relpath(directory, root)
        prefix = "" if relative_directory == "." else relative_directory.replace(os.sep, "/") + "/"
        subdirectories[:] = sorted(
            name for name in subdirectories if path_filter.wants_directory(prefix + name)
        )
        for name in sorted(files):
            relative = prefix + name
            if path_filter.wants_file(relative):
                yield relative


def observe_file(
    root: Path, relative: str, known: KnownFile | None, max_bytes: int
) -> ObservedFile | FileProblem | None:
    """The file as it is now; ``None`` if it is gone (or no longer a regular file)."""
    full = root / relative
    try:
        link_status = full.lstat()
    except FileNotFoundError:
        return None
    except OSError as error:
        return FileProblem(relative, f"cannot stat: {error.strerror}", f"stat:{error.errno}")
    try:
        status = full.stat() if stat.S_ISLNK(link_status.st_mode) else link_status
    except FileNotFoundError:
        return FileProblem(
            relative, "broken symbolic link", f"broken-link:{link_status.st_mtime_ns}"
        )
    except OSError as error:
        return FileProblem(relative, f"cannot stat: {error.strerror}", f"stat:{error.errno}")
    if not stat.S_ISREG(status.st_mode):
        return None
    if stat.S_ISLNK(link_status.st_mode) and not inside_root(root, full):
        target = os.path.realpath(full)
        return FileProblem(
            relative,
            f"symbolic link to {target}, outside the watched root (not followed)",
            f"link-outside:{target}",
        )
    facts = f"{status.st_size}:{status.st_mtime_ns}"
    if status.st_size > max_bytes:
        return FileProblem(
            relative,
            f"file is {status.st_size} bytes, over the {max_bytes} byte limit",
            f"too-large:{facts}",
        )
    if (
        known is not None
        and not known.deleted
        and (known.size, known.mtime_ns) == (status.st_size, status.st_mtime_ns)
    ):
        return ObservedFile(relative, status.st_size, status.st_mtime_ns, known.sha256)
    try:
        digest = _sha256(full)
    except FileNotFoundError:
        return None
    except OSError as error:
        return FileProblem(relative, f"unreadable: {error.strerror}", f"read:{error.errno}:{facts}")
    return ObservedFile(relative, status.st_size, status.st_mtime_ns, digest)


def inside_root(root: Path, path: Path) -> bool:
    """Whether ``path``, symbolic links resolved, is under ``root`` (itself resolved)."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_CHUNK):
            digest.update(block)
    return digest.hexdigest()
