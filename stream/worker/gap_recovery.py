"""Processing batches so that no offset of the changes topic goes unprocessed.

Before a batch is processed, the offsets Faust skipped ahead of it (see ``offsets``) are
read back from Kafka and processed with it, in offset order. Records at a partition's end
that Faust fetched but never delivered are read back by ``read_back_tail``, which the
worker's timer calls when ``TailWatch`` sees them waiting. One batch at a time: the lock
is held while processing, so a long batch is not mistaken for a stall.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from stream.worker.offsets import OffsetLedger, OffsetRange, merge_in_offset_order
from stream.worker.partition_reader import PartitionReader
from stream.worker.records import RawRecord

logger = logging.getLogger(__name__)

Process = Callable[[list[RawRecord]], Awaitable[Any]]


class GapRecoveringHandler:
    def __init__(
        self,
        reader: PartitionReader,
        process: Process,
        *,
        on_recovered: Callable[[int], None] | None = None,
        on_processed: Callable[[], None] | None = None,
        max_batch: int = 64,
    ) -> None:
        self.ledger = OffsetLedger()
        self.lock = asyncio.Lock()
        self._reader = reader
        self._process = process
        self._on_recovered = on_recovered or (lambda count: None)
        self._on_processed = on_processed or (lambda: None)
        self._max_batch = max_batch

    @property
    def busy(self) -> bool:
        return self.lock.locked()

    async def handle(self, records: Sequence[RawRecord]) -> list[RawRecord]:
        """Process ``records`` and what Faust skipped before them; return what was
        processed. Raises ``ReadBackError`` (nothing processed) if Kafka cannot be read."""
        async with self.lock:
            batch = list(records)
            await self._start_unknown_partitions(batch)
            replayed = self.ledger.replayed(batch)
            if replayed:
                logger.info(
                    "offsets_replayed count=%d: already processed here, redelivered by Kafka "
                    "(harmless: they come out stale or unchanged)",
                    len(replayed),
                )
            gaps = self.ledger.missing(batch)
            if gaps:
                batch = await self._with_read_back(batch, gaps)
            await self._process_in_slices(batch)
            self.ledger.advance(batch)
            self._on_processed()
            return batch

    async def read_back_tail(self, partition: int, committed: int | None, end: int) -> int:
        """Read back and process ``partition`` from where processing stands up to ``end``
        (exclusive); return how many records that was."""
        async with self.lock:
            start = self.ledger.progress(partition, committed) or 0
            if start >= end:
                return 0  # a batch moved on meanwhile
            records = await self._reader.read([OffsetRange(partition, start, end)])
            logger.warning(
                "offsets_recovered count=%d ranges=p%d:%d-%d: fetched by Faust but never "
                "delivered; read back from Kafka and processed",
                len(records),
                partition,
                start,
                end - 1,
            )
            if records:
                self._on_recovered(len(records))
                await self._process_in_slices(records)
            self.ledger.advance_to(partition, end)
            return len(records)

    async def _process_in_slices(self, records: list[RawRecord]) -> None:
        """A batch swollen by what was read back is processed ``max_batch`` at a time, in
        order, so that memory stays bounded however much Faust skipped."""
        for start in range(0, len(records), self._max_batch):
            await self._process(records[start : start + self._max_batch])

    async def _start_unknown_partitions(self, batch: list[RawRecord]) -> None:
        unknown = self.ledger.unknown_partitions(batch)
        if not unknown:
            return
        committed = await self._reader.committed(unknown)
        never = {partition for partition, offset in committed.items() if offset is None}
        # A group that never committed starts at the log's beginning (auto_offset_reset
        # "earliest"), so a first batch that does not start there skipped something too.
        beginnings = await self._reader.beginnings(never) if never else {}
        for partition, offset in committed.items():
            start = offset if offset is not None else beginnings.get(partition)
            if start is not None:
                self.ledger.start(partition, start)

    async def _with_read_back(
        self, batch: list[RawRecord], gaps: list[OffsetRange]
    ) -> list[RawRecord]:
        held = {(record.partition, record.offset) for record in batch}
        read_back = [
            record
            for record in await self._reader.read(gaps)
            if (record.partition, record.offset) not in held
        ]
        if not read_back:
            return batch  # transaction markers or compacted offsets: nothing was lost
        logger.warning(
            "offsets_recovered count=%d ranges=%s: Faust skipped these records; read back "
            "from Kafka and processed with the batch",
            len(read_back),
            ",".join(f"p{gap.partition}:{gap.start}-{gap.end - 1}" for gap in gaps),
        )
        self._on_recovered(len(read_back))
        return merge_in_offset_order(batch, read_back)
