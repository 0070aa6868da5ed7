"""Turning planned changes into change events (pure)."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from pathlib import Path, PurePosixPath

from indexer.events import ChangeEvent, DocumentMetadata, Operation, derive_event_id
from stream.watcher.planning import PlannedChange

_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".text": "text/plain",
}


def content_type_of(relative_path: str) -> str | None:
    suffix = PurePosixPath(relative_path).suffix.lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(relative_path, strict=False)
    return guessed


def change_to_event(
    change: PlannedChange, *, source: str, root: Path, emitted_at: datetime
) -> ChangeEvent:
    current_path = change.new_path if change.op is Operation.MOVE else change.path
    assert current_path is not None
    observed = change.observed
    # no title: the indexer takes the document's own (HTML <title>, first heading …) and
    # falls back to the file name only when the document has none
    metadata = DocumentMetadata(
        size_bytes=observed.size if observed is not None else None,
        extra={"root": str(root), "path": current_path},
    )
    return ChangeEvent(
        event_id=derive_event_id(source, change.doc_id, change.op.value, change.revision),
        source=source,
        doc_id=change.doc_id,
        op=change.op,
        uri=(root / change.path).as_uri(),
        new_uri=(root / change.new_path).as_uri() if change.new_path is not None else None,
        revision=change.revision,
        content_type=content_type_of(current_path),
        content_sha256=observed.sha256 if observed is not None else None,
        metadata=metadata,
        emitted_at=emitted_at,
    )
