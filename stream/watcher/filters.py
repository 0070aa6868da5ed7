"""Which paths the watcher cares about (pure)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePosixPath

from stream.watcher.settings import WatchSettings


@dataclass(frozen=True)
class PathFilter:
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    include_hidden: bool = False

    @classmethod
    def from_settings(cls, settings: WatchSettings) -> PathFilter:
        return cls(settings.include, settings.exclude, settings.include_hidden)

    def wants_file(self, relative_path: str) -> bool:
        """Whether a file (path relative to the root, '/'-separated) should be indexed."""
        path = PurePosixPath(relative_path)
        if not self.include_hidden and any(part.startswith(".") for part in path.parts):
            return False
        if _matches(path, self.exclude):
            return False
        return _matches(path, self.include)

    def wants_directory(self, relative_path: str) -> bool:
        """Whether to descend into a directory during a scan."""
        path = PurePosixPath(relative_path)
        return self.include_hidden or not any(part.startswith(".") for part in path.parts)


def _matches(path: PurePosixPath, patterns: tuple[str, ...]) -> bool:
    name = path.name.lower()
    full = str(path).lower()
    for pattern in patterns:
        lowered = pattern.lower()
        target = full if "/" in lowered else name
        if fnmatch.fnmatchcase(target, lowered):
            return True
    return False
