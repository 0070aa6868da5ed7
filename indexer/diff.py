"""What a change does to a document's chunks, against its manifest (pure).

Chunk ids are content-addressed, so comparing the id lists tells everything: new ids need
embedding, vanished ids are deleted, and ids present in both are reused — their position
(order, page, section, span, box) is updated in place if it moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from indexer.manifest import ChunkPosition


@dataclass(frozen=True)
class ChunkDiff:
    new: list[ChunkPosition] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repositioned: list[ChunkPosition] = field(default_factory=list)
    kept: list[ChunkPosition] = field(default_factory=list)
    """Every chunk that stays (repositioned ones included)."""


def diff_positions(previous: Sequence[ChunkPosition], target: Sequence[ChunkPosition]) -> ChunkDiff:
    before = {position.chunk_id: position for position in previous}
    diff = ChunkDiff()
    target_ids = set()
    for position in target:
        target_ids.add(position.chunk_id)
        old = before.get(position.chunk_id)
        if old is None:
            diff.new.append(position)
            continue
        diff.kept.append(position)
        if old != position:
            diff.repositioned.append(position)
    diff.removed.extend(chunk_id for chunk_id in before if chunk_id not in target_ids)
    return diff
