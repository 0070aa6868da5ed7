"""Settings of the watcher (env prefix ``MMRAG_WATCH_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_INCLUDE = (
    "*.txt",
    "*.text",
    "*.md",
    "*.markdown",
    "*.html",
    "*.htm",
    "*.pdf",
    "*.png",
    "*.jpg",
    "*.jpeg",
    "*.webp",
    "*.gif",
    "*.tif",
    "*.tiff",
)
DEFAULT_EXCLUDE = (
    "*~",
    "*.swp",
    "*.swx",
    "*.swo",
    "*.tmp",
    "*.temp",
    "*.part",
    "*.crdownload",
    "*.partial",
    "~$*",
    "#*#",
    ".#*",
    "4913",  # vim's probe file when checking whether a directory is writable
)


def _default_state_dir() -> Path:
    return Path.home() / ".cache" / "mmrag" / "watcher"


class WatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MMRAG_WATCH_", extra="ignore")

    include: tuple[str, ...] = DEFAULT_INCLUDE
    """Glob patterns (case-insensitive) of files to index; a pattern with '/' matches the
    path relative to the root, otherwise the file name."""
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    include_hidden: bool = False
    """Hidden files and directories (a name starting with '.') are skipped unless set."""
    debounce_ms: int = Field(default=200, ge=0)
    """A burst of OS events for one file becomes one change, emitted at most this long
    after the first event of the burst."""
    max_file_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    state_dir: Path = Field(default_factory=_default_state_dir)
    polling: bool = False
    """Poll instead of using the OS's notifications (network file systems, containers)."""
    poll_interval_s: float = Field(default=1.0, gt=0)
    rescan_interval_s: float = Field(default=0.0, ge=0)
    """Reconcile the whole tree this often (0 = only at start and on SIGHUP)."""
