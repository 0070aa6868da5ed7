"""The change log as ``indexer.generations.rechunk.ChangePublisher``: rebuilt events go to
the backfill topic (live changes keep their priority), and what the worker has not
processed yet is read from its consumer group's committed offsets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from indexer.change_log import GroupOffsetReader
from indexer.events import ChangeEvent
from mmrag.progress.snapshot import pending_of_sent
from stream.lanes import Lane
from stream.producer import ChangeProducer
from stream.settings import StreamSettings


class ChangeLogPublisher:
    def __init__(self, producer: ChangeProducer, offsets: GroupOffsetReader, topic: str):
        self._producer = producer
        self._offsets = offsets
        self._topic = topic

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        if events:
            await self._producer.send_many(events, lane=Lane.BACKFILL)

    async def pending(self) -> int:
        sent = {key: end for key, end in self._producer.sent_ends.items() if key[0] == self._topic}
        if not sent:
            return 0
        return pending_of_sent(sent, await self._offsets.read([self._topic]))


@asynccontextmanager
async def change_log_publisher(settings: StreamSettings) -> AsyncIterator[ChangeLogPublisher]:
    """A publisher on the configured backfill topic (created if missing, as the watcher
    does) and the worker's consumer group."""
    from stream.topics import ensure_topics

    await ensure_topics(settings)
    producer = ChangeProducer.from_settings(settings)
    async with (
        producer,
        GroupOffsetReader(
            settings.kafka_bootstrap, settings.worker_app_id, request_timeout_s=10
        ) as offsets,
    ):
        yield ChangeLogPublisher(producer, offsets, producer.backfill_topic)


class LazyChangeLogPublisher:
    """A :class:`ChangeLogPublisher` opened on first use, so that commands that may not
    need the change log (a promotion within one chunking group) do not need Kafka."""

    def __init__(self, settings: StreamSettings) -> None:
        self._settings = settings
        self._stack = AsyncExitStack()
        self._publisher: ChangeLogPublisher | None = None

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        await (await self._open()).publish(events)

    async def pending(self) -> int:
        return await (await self._open()).pending()

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._publisher = None

    async def _open(self) -> ChangeLogPublisher:
        if self._publisher is None:
            self._publisher = await self._stack.enter_async_context(
                change_log_publisher(self._settings)
            )
        return self._publisher
