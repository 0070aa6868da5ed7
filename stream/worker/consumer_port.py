"""The ``ConsumerPort`` of ``progress`` over a Faust app, one change topic and its lane."""

from __future__ import annotations

from collections.abc import Iterable

import faust
from faust.types import TP

from stream.worker.gap_recovery import GapRecoveringHandler
from stream.worker.partition_reader import PartitionReader
from stream.worker.processor_slot import ProcessorSlot


class FaustConsumerPort:
    def __init__(
        self,
        app: faust.App,
        topic: str,
        reader: PartitionReader,
        handler: GapRecoveringHandler,
        slot: ProcessorSlot,
    ) -> None:
        self._app = app
        self._topic = topic
        self._reader = reader
        self._handler = handler
        self._slot = slot

    def assigned(self) -> set[int]:
        return {tp.partition for tp in self._app.consumer.assignment() if tp.topic == self._topic}

    def highwater(self, partition: int) -> int | None:
        highwater: int | None = self._app.consumer.highwater(TP(self._topic, partition))
        return highwater

    async def position(self, partition: int) -> int | None:
        return await self._app.consumer.position(TP(self._topic, partition))

    async def committed(self, partitions: Iterable[int]) -> dict[int, int | None]:
        return await self._reader.committed(partitions)

    def progress(self, partition: int, committed: int | None) -> int | None:
        return self._handler.ledger.progress(partition, committed)

    @property
    def busy(self) -> bool:
        return self._handler.busy

    @property
    def settled(self) -> bool:
        return self._slot.ready and not (self._app.rebalancing or self._app.in_recovery)

    async def read_back_tail(self, partition: int, committed: int | None, end: int) -> int:
        return await self._handler.read_back_tail(partition, committed, end)
