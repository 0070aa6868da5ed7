"""A bounded memory of recently accepted event ids (least recently used goes first).

CMSs redeliver webhooks (timeouts, retries, a user pressing "resend"); event ids are
derived from the content's revision, so a redelivery has the same ids and is recognised
here without producing it again. It is an optimisation, not a guarantee: the memory is per
process and bounded, and the indexer ignores a revision it already has anyway.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentEventIds:
    """The last ``capacity`` ids remembered; ``capacity == 0`` remembers nothing."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError("capacity must be zero or more")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` was accepted recently (and keep it fresh if so)."""
        if event_id not in self._ids:
            return False
        self._ids.move_to_end(event_id)
        return True

    def remember(self, event_id: str) -> None:
        """Record ``event_id`` as accepted, forgetting the oldest beyond capacity."""
        if self._capacity == 0:
            return
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
