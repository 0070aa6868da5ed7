"""Deciding which change events a set of observations calls for (pure).

The same logic serves the live watcher (the debounced paths) and reconciliation (the whole
tree): compare what is on disk now with what was last emitted, per path.

- new path → upsert of a new document (or of the document last seen there, if deleted);
- same size and mtime → nothing; other content → upsert; same content → state only;
- a vanished path whose content (sha256) reappears at exactly one new path → move: the
  document keeps its id, so its events stay ordered in one partition and the indexer
  re-embeds nothing;
- other vanished paths → delete.

Revisions only grow per document: ``max(mtime_ns, previous revision + 1)``, so replacing
a file by an older copy, or re-creating a deleted one, still supersedes what came before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from indexer.events import Operation


@dataclass(frozen=True)
class KnownFile:
    """What the watcher last emitted for a path (a tombstone if ``deleted``)."""

    path: str
    doc_id: str
    revision: int
    size: int
    mtime_ns: int
    sha256: str
    deleted: bool = False


@dataclass(frozen=True)
class ObservedFile:
    """A file as it is on disk now."""

    path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class PlannedChange:
    op: Operation
    doc_id: str
    path: str
    revision: int
    new_path: str | None = None
    observed: ObservedFile | None = None


@dataclass(frozen=True)
class Plan:
    changes: list[PlannedChange] = field(default_factory=list)
    content_unchanged: list[ObservedFile] = field(default_factory=list)
    """Files whose mtime changed but whose bytes did not: state is updated, nothing emitted."""


DeriveDocId = Callable[[str], str]


def plan_changes(
    known: Mapping[str, KnownFile],
    observed: Mapping[str, ObservedFile | None],
    derive_doc_id: DeriveDocId,
    *,
    resend: bool = False,
) -> Plan:
    """Changes for the observed paths; ``None`` means the path is gone.

    ``resend``: unchanged files are sent again as upserts (with a higher revision), for an
    index that lost what it was sent; the indexer re-embeds nothing whose content it has.
    """
    plan = Plan()
    vanished: list[KnownFile] = []
    fresh: list[ObservedFile] = []
    for path, now in observed.items():
        before = known.get(path)
        live_before = before is not None and not before.deleted
        if now is None:
            if before is not None and live_before:
                vanished.append(before)
        elif before is None or not live_before:
            fresh.append(now)
        elif resend or (now.size, now.mtime_ns) != (before.size, before.mtime_ns):
            if now.sha256 == before.sha256 and not resend:
                plan.content_unchanged.append(now)
            else:
                plan.changes.append(
                    PlannedChange(
                        Operation.UPSERT,
                        before.doc_id,
                        path,
                        max(now.mtime_ns, before.revision + 1),
                        observed=now,
                    )
                )

    moved_into = _pair_moves(vanished, fresh)
    for gone in vanished:
        target = moved_into.get(gone.path)
        if target is not None:
            plan.changes.append(
                PlannedChange(
                    Operation.MOVE,
                    gone.doc_id,
                    gone.path,
                    gone.revision + 1,
                    new_path=target.path,
                    observed=target,
                )
            )
        else:
            plan.changes.append(
                PlannedChange(Operation.DELETE, gone.doc_id, gone.path, gone.revision + 1)
            )

    live_ids = {entry.doc_id for entry in known.values() if not entry.deleted}
    live_ids -= {gone.doc_id for gone in vanished if gone.path not in moved_into}
    moved_targets = {target.path for target in moved_into.values()}
    for now in fresh:
        if now.path in moved_targets:
            continue
        tombstone = known.get(now.path)
        doc_id = _doc_id_for_new_file(now.path, tombstone, live_ids, derive_doc_id)
        live_ids.add(doc_id)
        floor = tombstone.revision + 1 if tombstone is not None else 0
        plan.changes.append(
            PlannedChange(
                Operation.UPSERT, doc_id, now.path, max(now.mtime_ns, floor), observed=now
            )
        )
    return plan


def _pair_moves(vanished: list[KnownFile], fresh: list[ObservedFile]) -> dict[str, ObservedFile]:
    """Vanished path → the one fresh file with the same content, where that is unambiguous."""
    vanished_counts = Counter(entry.sha256 for entry in vanished)
    fresh_by_sha: dict[str, list[ObservedFile]] = {}
    for candidate in fresh:
        fresh_by_sha.setdefault(candidate.sha256, []).append(candidate)
    pairs = {}
    for entry in vanished:
        candidates = fresh_by_sha.get(entry.sha256, [])
        if vanished_counts[entry.sha256] == 1 and len(candidates) == 1:
            pairs[entry.path] = candidates[0]
    return pairs


def _doc_id_for_new_file(
    path: str, tombstone: KnownFile | None, live_ids: set[str], derive_doc_id: DeriveDocId
) -> str:
    if tombstone is not None and tombstone.doc_id not in live_ids:
        return tombstone.doc_id
    candidate = derive_doc_id(path)
    suffix = 2
    while candidate in live_ids:  # the id was taken along by a file moved away from here
        candidate = derive_doc_id(f"{path}#{suffix}")
        suffix += 1
    return candidate
