"""Chunking groups: the generations grouped by the documents index holding their manifests
(pure).

Generations that chunk alike share chunk ids and so one documents index (the shared one,
``MMRAG_DOCUMENTS_INDEX``, unless a generation records its own); a generation that
chunks differently has its own documents index, so its own group. The worker runs one
indexing pipeline per group for each batch of changes: the group holding the live
generation is the **primary** (what the worker reports: outcomes, dead letters, the
manifests it caches), every other group is **secondary** (same events, its own chunking,
failures only logged).

A group's **lead** is the generation its chunk reads go to (which chunks are stored, what
an update may touch): the live generation when the group holds it, else the group's
first generation. A group's chunking is its lead's recorded ``chunk_max_tokens`` /
``chunk_overlap_tokens``, the worker's settings where it records none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indexer.generations.meta import GenerationConfig
from indexer.generations.registry import Generation


@dataclass(frozen=True)
class ChunkSize:
    """The ``ChunkingOptions`` parameters a group decides (the tokenizer is its text
    encoder's)."""

    max_tokens: int
    overlap_tokens: int


@dataclass(frozen=True)
class ChunkingGroup:
    documents_index: str
    generations: tuple[Generation, ...]
    """Lead first, then the others oldest first; empty only for the shared group before
    any generation exists."""
    chunk_size: ChunkSize

    @property
    def primary(self) -> bool:
        """Holds the live generation."""
        return any(generation.live for generation in self.generations)

    @property
    def lead(self) -> Generation | None:
        return self.generations[0] if self.generations else None

    @property
    def config(self) -> GenerationConfig | None:
        """The lead's configuration (its models make the group's chunks' vectors)."""
        lead = self.lead
        return lead.meta.config if lead is not None else None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(generation.name for generation in self.generations)


def chunk_size_of(config: GenerationConfig, default: ChunkSize) -> ChunkSize:
    """A generation's chunking: what it records, ``default`` (the worker's) for the rest."""
    return ChunkSize(
        config.chunk_max_tokens if config.chunk_max_tokens is not None else default.max_tokens,
        config.chunk_overlap_tokens
        if config.chunk_overlap_tokens is not None
        else default.overlap_tokens,
    )


def chunking_groups(
    generations: Sequence[Generation], shared_documents_index: str, default: ChunkSize
) -> list[ChunkingGroup]:
    """The groups of ``generations`` (oldest first, as the registry lists them): the
    primary first, then the others in the order of their first generation. With no
    generation at all, one empty group on the shared documents index with ``default``
    chunking (the worker creates generation 1 there)."""
    members: dict[str, list[Generation]] = {}
    for generation in generations:
        index = generation.meta.documents_index_or(shared_documents_index)
        members.setdefault(index, []).append(generation)
    if not members:
        return [ChunkingGroup(shared_documents_index, (), default)]
    groups = []
    for index, found in members.items():
        ordered = sorted(found, key=lambda generation: not generation.live)  # stable
        lead = ordered[0]
        groups.append(
            ChunkingGroup(index, tuple(ordered), chunk_size_of(lead.meta.config, default))
        )
    return sorted(groups, key=lambda group: not group.primary)


def primary_group(
    groups: Sequence[ChunkingGroup], shared_documents_index: str, default: ChunkSize
) -> ChunkingGroup:
    """The group holding the live generation; with none live (the alias not made yet),
    the shared documents index's group (empty, with ``default`` chunking, if no
    generation uses it)."""
    for group in groups:
        if group.primary:
            return group
    for group in groups:
        if group.documents_index == shared_documents_index:
            return group
    return ChunkingGroup(shared_documents_index, (), default)


def group_of(groups: Sequence[ChunkingGroup], documents_index: str) -> ChunkingGroup | None:
    return next((group for group in groups if group.documents_index == documents_index), None)


__all__ = [
    "ChunkSize",
    "ChunkingGroup",
    "chunk_size_of",
    "chunking_groups",
    "group_of",
    "primary_group",
]
