"""What "done" means for a progress display, and how far along it is (pure).

``mmrag status`` waits for the whole backlog (both lanes); ``mmrag watch --once --wait``
waits for what its own producer sent: per partition, until the worker group has processed
past the offset of its last record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mmrag.progress.snapshot import Snapshot, pending_of_sent, processed_since


@dataclass(frozen=True)
class Goal:
    sent_ends: Mapping[tuple[str, int], int] = field(default_factory=dict)
    """``ChangeProducer.sent_ends`` of a run; empty: the whole backlog."""
    sent_events: int = 0
    """How many events the run sent (the bar's total)."""

    @property
    def whole_backlog(self) -> bool:
        return not self.sent_ends

    def remaining(self, now: Snapshot) -> int:
        if self.whole_backlog:
            return now.pending
        return min(self.sent_events, pending_of_sent(self.sent_ends, now.offsets))

    def counts(self, first: Snapshot, now: Snapshot) -> tuple[int, int]:
        """(completed, total) events for the bar."""
        remaining = self.remaining(now)
        if self.whole_backlog:
            completed = processed_since(first, now)
            return completed, completed + remaining
        return self.sent_events - remaining, self.sent_events

    def reached(self, now: Snapshot) -> bool:
        """Everything wanted is processed: searchable, or dead-lettered with its reason.
        Never while Kafka cannot be read."""
        kafka_read = not any(error.startswith("kafka") for error in now.errors)
        return kafka_read and self.remaining(now) == 0
