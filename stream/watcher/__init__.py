"""The file-system watcher: ``mmrag watch DIR…`` turns file changes into change events.

watchdog (inotify where available, polling otherwise) reports raw events; they are
debounced per file, resolved against a small local state (sqlite) and emitted as upsert,
delete and move events. On start the tree is reconciled with that state, so changes made
while the watcher was down are emitted too, and a restart with nothing changed emits
nothing.
"""

from __future__ import annotations

from stream.watcher.filters import PathFilter
from stream.watcher.settings import WatchSettings
from stream.watcher.watcher import DirectoryWatcher

__all__ = ["DirectoryWatcher", "PathFilter", "WatchSettings"]
