"""Where exported ONNX encoders live, and building one exactly once.

An export is cached under ``<cache>/<model>-<runtime>-<hash>/``; the hash covers the
model's files (names and bytes), the runtime, the export recipe and the onnxruntime
version, so a changed model or quantiser builds a new directory instead of reusing a stale
one. Builders (the worker and the API starting at once) take a file lock and publish by
renaming a finished temporary directory: nobody sees half an export, nobody builds twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

MARKER_FILE = "mmrag-export.json"
"""Written last into a finished export: a directory without it is not one."""
RECIPE_VERSION = "1"
"""Bump when the export or quantisation recipe changes (rebuilds every cached export)."""
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "mmrag" / "encoders"


def _model_files(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue  # .git, .cache, lock files: not the model
        if path.is_file():
            yield path


def model_fingerprint(directory: Path) -> str:
    """sha256 over the model's file names and contents (symlinks followed)."""
    digest = hashlib.sha256()
    for path in _model_files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def export_dir_name(model: str, runtime: str, fingerprint: str, tool_version: str) -> str:
    """``<model>-<runtime>-<hash>``, the model id made safe as one path component; a
    directory is named by its last component (the hash says which files it holds)."""
    label = Path(model).name if model.startswith(("/", ".", "~")) else model
    safe = re.sub(r"[^A-Za-z0-9._-]+", "--", label.strip("/")).strip("-.") or "model"
    key = hashlib.sha256(
        f"{fingerprint}|{runtime}|{RECIPE_VERSION}|{tool_version}".encode()
    ).hexdigest()
    return f"{safe[-80:]}-{runtime}-{key[:16]}"


def is_built(directory: Path) -> bool:
    return (directory / MARKER_FILE).is_file()


def ensure_built(target: Path, build: Callable[[Path], dict[str, object]]) -> Path:
    """``target``, calling ``build(work_dir)`` first if no earlier run finished it.

    ``build`` writes the export's files into ``work_dir`` and returns details for the
    marker file; ``work_dir`` is renamed to ``target`` only when it returns.
    """
    if is_built(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if is_built(target):
            return target
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f".{target.name}-", dir=target.parent) as work:
            output = Path(work) / "export"
            output.mkdir()
            details = build(output)
            details["seconds"] = round(time.perf_counter() - started, 1)
            (output / MARKER_FILE).write_text(json.dumps(details, indent=2) + "\n")
            if target.exists():
                shutil.rmtree(target)  # an unfinished directory from an interrupted run
            os.replace(output, target)
    logger.info("encoder_exported dir=%s seconds=%.1f", target, details["seconds"])
    return target
