"""How far a consumer group is behind, from its offsets (pure).

A partition's *position* is where the group resumes: its committed offset, or the log's
beginning for a partition it never committed (where a new group starts). Its *lag* is the
high watermark minus that position, never negative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PartitionOffsets:
    """One partition's offsets for one group."""

    committed: int | None
    """The group's committed offset (the next record it will read); None: never committed."""
    beginning: int
    """The first offset still in the log."""
    end: int
    """The high watermark: the offset the next record will get."""

    @property
    def position(self) -> int:
        """Where the group resumes reading."""
        return self.committed if self.committed is not None else self.beginning

    @property
    def lag(self) -> int:
        """Records the group has not committed yet."""
        return max(self.end - self.position, 0)


TopicOffsets = Mapping[int, PartitionOffsets]
"""A topic's partitions (by number) and their offsets."""


def topic_lag(partitions: TopicOffsets) -> int:
    """Records not yet committed, over every partition of one topic."""
    return sum(offsets.lag for offsets in partitions.values())


def total_lag(topics: Mapping[str, TopicOffsets]) -> int:
    """Records not yet committed, over every partition of every topic."""
    return sum(topic_lag(partitions) for partitions in topics.values())


def combine(
    ends: Mapping[int, int],
    committed: Mapping[int, int | None],
    beginnings: Mapping[int, int],
) -> dict[int, PartitionOffsets]:
    """Per-partition offsets from the three lookups (a partition that has a high watermark
    but no beginning answered is taken to begin at 0)."""
    return {
        partition: PartitionOffsets(
            committed=committed.get(partition),
            beginning=beginnings.get(partition, 0),
            end=end,
        )
        for partition, end in sorted(ends.items())
    }
