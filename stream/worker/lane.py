"""One change topic's processing beside its Faust agent: the processor slot, the
gap-recovering handler with its offset ledger, and the progress monitor."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import faust

from stream.worker.consumer_port import FaustConsumerPort
from stream.worker.gap_recovery import GapRecoveringHandler
from stream.worker.partition_reader import PartitionReader, ReadBackError
from stream.worker.processor import ChangeBatchProcessor
from stream.worker.processor_slot import ProcessorSlot
from stream.worker.progress import ProgressMonitor, Stall
from stream.worker.records import RawRecord

logger = logging.getLogger(__name__)

Exit = Callable[[int], None]


class ChangeLane:
    def __init__(
        self,
        app: faust.App,
        topic: str,
        reader: PartitionReader,
        *,
        batch_size: int,
        stall_timeout_s: float,
        exit_without_ack: Exit,
        on_lag: Callable[[int, int | None], None] | None = None,
        on_recovered: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.topic = topic
        self.reader = reader
        self.slot = ProcessorSlot()
        self._exit = exit_without_ack
        self.handler = GapRecoveringHandler(
            reader,
            self.slot.handle,
            on_recovered=on_recovered,
            on_processed=self._processed,
            max_batch=batch_size,
        )
        self.monitor = ProgressMonitor(
            topic,
            FaustConsumerPort(app, topic, reader, self.handler, self.slot),
            stall_timeout_s=stall_timeout_s,
            clock=clock,
            on_stall=self._stalled,
            on_lag=on_lag,
        )

    async def start(self, build: Callable[[], Awaitable[ChangeBatchProcessor]]) -> None:
        async with self.handler.lock:  # the timer reads back nothing before this is up
            await self.slot.fill(build)

    async def handle(self, records: list[RawRecord]) -> None:
        """Process a batch (and what Faust skipped before it); exits without
        acknowledging when Kafka cannot be read back."""
        try:
            await self.handler.handle(records)
        except ReadBackError as error:
            logger.critical("%s: exiting without acknowledging the batch", error)
            self._exit(75)

    def forget(self, partitions: Iterable[Any]) -> None:
        """Partitions assigned or revoked: their offsets come from the group again."""
        self.handler.ledger.forget({tp.partition for tp in partitions if tp.topic == self.topic})

    async def close(self) -> None:
        await self.slot.close()
        await self.reader.close()

    def _processed(self) -> None:
        self.monitor.processed()

    def _stalled(self, stall: Stall) -> None:
        logger.critical(
            "consumer_stalled topic=%s partition=%d processed_to=%d lag=%d for=%.0fs: exiting "
            "so that a restart rejoins the group and Kafka redelivers",
            stall.topic,
            stall.partition,
            stall.processed_to,
            stall.lag,
            stall.timeout_s,
        )
        self._exit(75)
