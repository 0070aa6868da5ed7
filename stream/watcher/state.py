"""What the watcher last emitted, per path, in a small sqlite file (one per source)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from indexer.events import Operation
from stream.watcher.planning import KnownFile, ObservedFile, PlannedChange

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS problems (
    path TEXT PRIMARY KEY,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def state_file_for(state_dir: Path, source: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", source)
    return state_dir / f"{safe}.sqlite"


class WatchState:
    """Rows are written only after Kafka acknowledged the events, so a crash between the
    two makes the next reconciliation emit the change again (at-least-once)."""

    def __init__(self, path: Path, root: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path)
        self._connection.executescript(_SCHEMA)
        recorded = self._meta("root")
        if recorded is not None and recorded != str(root):
            raise ValueError(
                f"state file {path} belongs to root {recorded}, not {root}; "
                "give this root another source name"
            )
        self._set_meta("root", str(root))

    def close(self) -> None:
        self._connection.close()

    def _meta(self, key: str) -> str | None:
        row = self._connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        with self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
            )

    def known(self, paths: Iterable[str] | None = None) -> dict[str, KnownFile]:
        """Known rows (tombstones included), for the given paths or for all."""
        query = "SELECT path, doc_id, revision, size, mtime_ns, sha256, deleted FROM files"
        if paths is None:
            rows = self._connection.execute(query).fetchall()
        else:
            wanted = list(paths)
            rows = []
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows.extend(self._connection.execute(f"{query} WHERE path IN ({marks})", batch))
        return {
            str(path): KnownFile(
                str(path),
                str(doc_id),
                int(revision),
                int(size),
                int(mtime),
                str(sha),
                bool(deleted),
            )
            for path, doc_id, revision, size, mtime, sha, deleted in rows
        }

    def live_paths_under(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        rows = self._connection.execute(
            "SELECT path FROM files WHERE deleted = 0 AND substr(path, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return [str(row[0]) for row in rows]

    def record(self, changes: Iterable[PlannedChange], unchanged: Iterable[ObservedFile]) -> None:
        """Apply emitted changes (and content-identical touches) in one transaction."""
        with self._connection:
            for change in changes:
                self._record_change(change)
            for observed in unchanged:
                self._connection.execute(
                    "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?",
                    (observed.size, observed.mtime_ns, observed.path),
                )

    def _record_change(self, change: PlannedChange) -> None:
        upsert = (
            "INSERT OR REPLACE INTO files (path, doc_id, revision, size, mtime_ns, sha256, deleted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        if change.op is Operation.DELETE:
            self._connection.execute(
                "UPDATE files SET deleted = 1, revision = ? WHERE path = ?",
                (change.revision, change.path),
            )
            return
        observed = change.observed
        assert observed is not None  # upserts and moves always carry what was observed
        if change.op is Operation.MOVE:
            self._connection.execute(
                "UPDATE files SET deleted = 1, revision = ? WHERE path = ?",
                (change.revision, change.path),
            )
        target = change.new_path if change.op is Operation.MOVE else change.path
        self._connection.execute(
            upsert,
            (
                target,
                change.doc_id,
                change.revision,
                observed.size,
                observed.mtime_ns,
                observed.sha256,
                0,
            ),
        )

    def problem_is_new(self, path: str, signature: str) -> bool:
        """Whether this problem (path + what is wrong + file facts) was not reported yet."""
        row = self._connection.execute(
            "SELECT signature FROM problems WHERE path = ?", (path,)
        ).fetchone()
        if row is not None and row[0] == signature:
            return False
        with self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO problems (path, signature) VALUES (?, ?)",
                (path, signature),
            )
        return True

    def clear_problems(self, paths: Iterable[str]) -> None:
        """Forget reported problems of files that are fine again."""
        if self._connection.execute("SELECT 1 FROM problems LIMIT 1").fetchone() is None:
            return
        with self._connection:
            self._connection.executemany(
                "DELETE FROM problems WHERE path = ?", ((path,) for path in paths)
            )


def sent_documents(state_dir: Path) -> dict[str, int]:
    """Per source, the documents the watchers with state in ``state_dir`` have sent and
    not deleted since (read-only: a running watcher is not disturbed). Sources are read
    from the documents' ids (``source:hash``)."""
    counts: dict[str, int] = {}
    if not state_dir.is_dir():
        return counts
    for path in sorted(state_dir.glob("*.sqlite")):
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT doc_id FROM files WHERE deleted = 0").fetchall()
        except sqlite3.DatabaseError:
            continue  # not a watcher's state (or one being created): nothing to count
        finally:
            connection.close()
        for (doc_id,) in rows:
            source = str(doc_id).rsplit(":", 1)[0]
            counts[source] = counts.get(source, 0) + 1
    return counts
