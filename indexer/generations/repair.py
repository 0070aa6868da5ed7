"""What it takes to make a generation's chunks of a document match its manifest (pure).

The manifest says which chunks a document has; the live generation holds them with the
current fields. A generation being built must end up with exactly those ids, and with
the live copy's fields (vectors apart, which may come from other models).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

VECTOR_FIELDS = frozenset({"text_vector", "clip_vector", "text_model", "clip_model"})
VOLATILE_FIELDS = frozenset({"indexed_at"})
"""Differs between copies of the same chunk without meaning anything."""


@dataclass(frozen=True)
class RepairPlan:
    copy: tuple[str, ...] = ()
    """In the manifest, missing from the generation: copy from the live generation."""
    delete: tuple[str, ...] = ()
    """In the generation, not in the manifest (deleted or replaced meanwhile)."""
    refresh: tuple[str, ...] = ()
    """In both, but the generation's fields are stale: take the live copy's fields."""

    @property
    def empty(self) -> bool:
        return not (self.copy or self.delete or self.refresh)

    @property
    def size(self) -> int:
        return len(self.copy) + len(self.delete) + len(self.refresh)


@dataclass
class RepairTotals:
    documents: int = 0
    copied: int = 0
    deleted: int = 0
    refreshed: int = 0
    unrepairable: list[str] = field(default_factory=list)
    """Chunk ids the manifest names that neither generation holds."""

    def add(self, plan: RepairPlan) -> None:
        self.copied += len(plan.copy)
        self.deleted += len(plan.delete)
        self.refreshed += len(plan.refresh)


def comparable(source: Mapping[str, Any]) -> dict[str, Any]:
    """A chunk's fields that must agree between generations."""
    return {
        key: value
        for key, value in source.items()
        if key not in VECTOR_FIELDS and key not in VOLATILE_FIELDS
    }


def plan_repair(
    manifest_ids: Collection[str],
    generation: Mapping[str, Mapping[str, Any]],
    live: Mapping[str, Mapping[str, Any]],
) -> RepairPlan:
    """``generation`` and ``live``: chunk id → source (vectors may be left out) of one
    document's chunks in the generation being repaired and in the live one."""
    wanted = set(manifest_ids)
    copy = sorted(chunk_id for chunk_id in wanted if chunk_id not in generation)
    delete = sorted(chunk_id for chunk_id in generation if chunk_id not in wanted)
    refresh = sorted(
        chunk_id
        for chunk_id in wanted
        if chunk_id in generation
        and chunk_id in live
        and comparable(generation[chunk_id]) != comparable(live[chunk_id])
    )
    return RepairPlan(tuple(copy), tuple(delete), tuple(refresh))
