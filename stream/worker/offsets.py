"""Which offsets of the changes topic this worker has processed, and which it skipped.

Faust can hand the agent a partition's records with a hole in them: the record at the
committed offset is sometimes never delivered after a restart or a rebalance (the
faust-streaming reports "first message read after rebalance potentially dropped",
"recovery resumes before seeking"), and its offset bookkeeping then commits past the
hole, so the event is lost without a word. The ledger notices: per partition it knows the
next offset due (from the group's committed offset when the partition arrives, then from
each processed batch), and says which ranges a batch skipped, so that the worker reads
them back from Kafka before processing the batch. Over-reading is harmless (every write
is idempotent); a range that comes back empty was a transaction marker or compacted away.

Pure: no Kafka here; the I/O is in ``partition_reader``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from stream.worker.records import RawRecord


@dataclass(frozen=True, order=True)
class OffsetRange:
    """Offsets ``start`` (inclusive) to ``end`` (exclusive) of one partition."""

    partition: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"empty offset range {self.start}..{self.end}")

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class OffsetLedger:
    _next: dict[int, int] = field(default_factory=dict)

    def start(self, partition: int, committed: int) -> None:
        """Begin tracking a newly assigned partition at the group's committed offset."""
        self._next[partition] = committed

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions revoked (or reassigned): their next offset comes from the group again."""
        for partition in partitions:
            self._next.pop(partition, None)

    def unknown_partitions(self, records: Iterable[RawRecord]) -> set[int]:
        return {record.partition for record in records} - set(self._next)

    def missing(self, records: Sequence[RawRecord]) -> list[OffsetRange]:
        """The ranges of offsets, of known partitions, that ``records`` skip: before the
        batch's first offset of a partition, and between its offsets."""
        ranges: list[OffsetRange] = []
        for partition, offsets in _offsets_by_partition(records).items():
            expected = self._next.get(partition)
            if expected is None:
                continue
            for offset in offsets:
                if offset > expected:
                    ranges.append(OffsetRange(partition, expected, offset))
                expected = max(expected, offset + 1)
        return sorted(ranges)

    def replayed(self, records: Iterable[RawRecord]) -> list[RawRecord]:
        """The records of ``records`` below their partition's next offset: processed here
        already (Kafka redelivers after a restart or rebalance; harmless)."""
        return [
            record
            for record in records
            if record.partition in self._next and record.offset < self._next[record.partition]
        ]

    def advance(self, records: Iterable[RawRecord]) -> None:
        """``records`` were processed: the next offset due is past the highest of each."""
        for partition, offsets in _offsets_by_partition(records).items():
            following = offsets[-1] + 1
            self._next[partition] = max(self._next.get(partition, following), following)

    def advance_to(self, partition: int, offset: int) -> None:
        """Everything below ``offset`` of ``partition`` was processed (e.g. read back)."""
        self._next[partition] = max(self._next.get(partition, offset), offset)

    def progress(self, partition: int, committed: int | None) -> int | None:
        """How far ``partition`` has been processed: the committed offset, or further if
        this worker processed records that Faust could not acknowledge (read back)."""
        known = self._next.get(partition)
        if known is None:
            return committed
        if committed is None:
            return known
        return max(known, committed)


def merge_in_offset_order(
    batch: Sequence[RawRecord], recovered: Sequence[RawRecord]
) -> list[RawRecord]:
    """One batch of both, each partition's records in offset order, each offset once
    (what was read back goes before the batch's later records of its partition)."""
    unique = {(record.partition, record.offset): record for record in recovered}
    unique.update({(record.partition, record.offset): record for record in batch})
    return [unique[key] for key in sorted(unique)]


def _offsets_by_partition(records: Iterable[RawRecord]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for record in records:
        grouped.setdefault(record.partition, []).append(record.offset)
    return {partition: sorted(offsets) for partition, offsets in grouped.items()}
