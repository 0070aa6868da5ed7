"""Is the index exactly what the folder's files should produce? (pure)

The truth is the folder at the end of a run: every file there must have one live manifest
(same URI) whose content hash is the file's, whose chunk ids are the chunks its content
gives (when that can be recomputed) and are all in the chunk index; nothing else may be
in the index: no manifest of a deleted file, no chunk of an old revision or of a deleted
document, no chunk twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StoredManifest:
    """What the documents index holds for one document."""

    doc_id: str
    uri: str | None
    deleted: bool
    content_sha256: str | None
    chunk_ids: tuple[str, ...]


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    doc_id: str


@dataclass(frozen=True)
class Findings:
    """Each list names the documents (URIs or doc ids) behind a figure."""

    files: int
    lost: list[str] = field(default_factory=list)
    """A file without a live manifest."""
    outdated: list[str] = field(default_factory=list)
    """A live manifest whose content hash is not the file's current one."""
    wrong_chunks: list[str] = field(default_factory=list)
    """A manifest whose chunk ids are not those the file's content gives."""
    missing_chunks: list[str] = field(default_factory=list)
    """A chunk id of a live manifest absent from the chunk index (one entry per chunk)."""
    stale_chunks: list[str] = field(default_factory=list)
    """A chunk in the index that no live manifest lists (old revision, deleted, orphan)."""
    duplicate_chunks: list[str] = field(default_factory=list)
    """An extra copy of a chunk id in the index, or of a chunk id in one manifest."""
    duplicate_documents: list[str] = field(default_factory=list)
    """A file with more than one live manifest."""
    deleted_present: list[str] = field(default_factory=list)
    """A live manifest of a file that no longer exists."""

    @property
    def lost_or_wrong(self) -> int:
        return len(self.lost) + len(self.outdated) + len(self.wrong_chunks)


def audit(
    files: Mapping[str, str],
    manifests: Iterable[StoredManifest],
    chunks: Iterable[StoredChunk],
    expected_chunks: Mapping[str, frozenset[str]] | None = None,
) -> Findings:
    """``files``: URI → sha256 of each file present now; ``expected_chunks``: doc_id → the
    chunk ids its file's content gives (documents left out are not recomputed)."""
    expected_chunks = expected_chunks or {}
    live: dict[str, list[StoredManifest]] = defaultdict(list)
    live_ids: dict[str, frozenset[str]] = {}
    findings = Findings(files=len(files))
    for manifest in manifests:
        if manifest.deleted:
            continue
        live[manifest.uri or f"(no uri: {manifest.doc_id})"].append(manifest)
        live_ids[manifest.doc_id] = frozenset(manifest.chunk_ids)
        for chunk_id, copies in Counter(manifest.chunk_ids).items():
            findings.duplicate_chunks.extend([f"{manifest.doc_id} lists {chunk_id}"] * (copies - 1))
    for uri, sha256 in sorted(files.items()):
        found = live.get(uri, [])
        if not found:
            findings.lost.append(uri)
            continue
        if len(found) > 1:
            findings.duplicate_documents.append(f"{uri} ({len(found)} live manifests)")
        for manifest in found:
            if manifest.content_sha256 != sha256:
                findings.outdated.append(uri)
            wanted = expected_chunks.get(manifest.doc_id)
            if wanted is not None and wanted != frozenset(manifest.chunk_ids):
                findings.wrong_chunks.append(uri)
    for uri in sorted(set(live) - set(files)):
        findings.deleted_present.extend(manifest.doc_id for manifest in live[uri])
    stored: dict[str, Counter[str]] = defaultdict(Counter)
    for chunk in chunks:
        stored[chunk.doc_id][chunk.chunk_id] += 1
    for doc_id, ids in sorted(live_ids.items()):
        present = stored.get(doc_id, Counter())
        findings.missing_chunks.extend(f"{doc_id}/{i}" for i in sorted(ids - set(present)))
    for doc_id, present in sorted(stored.items()):
        listed = live_ids.get(doc_id, frozenset())
        for chunk_id, copies in sorted(present.items()):
            if chunk_id not in listed:
                findings.stale_chunks.append(f"{doc_id}/{chunk_id}")
            findings.duplicate_chunks.extend([f"{doc_id}/{chunk_id}"] * (copies - 1))
    return findings


def examples(names: list[str], limit: int = 3) -> str:
    """A few of ``names`` for a table cell."""
    if not names:
        return ""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} … (+{len(names) - limit})"
