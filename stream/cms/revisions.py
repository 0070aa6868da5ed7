"""Revisions for CMSs whose timestamps count whole seconds (WordPress's ``modified_gmt``).

Two saves of a post within one second (a quick edit straight after an edit) share the
timestamp, and so would share the revision and the event id: the second would be dropped
as a duplicate by the ingress, or as stale by the indexer. So the revision is::

    timestamp_ms * SLOTS_PER_TIMESTAMP + n

where ``n`` numbers the *distinct* changes of the document seen with that timestamp, in
the order this ingress received them: the first is 0, the same change delivered again
gets its first number back (same event id: a recognised duplicate), a different change
the next number. A delete is a change of its own, so a delete that repeats the post's
last timestamp still comes after its upsert (and the indexer lets a delete win over an
upsert of the same revision anyway).

The memory is per process and bounded (least recently used timestamps go first). After
a restart, numbering starts again at 0: a change arriving in the very second of a change
seen before the restart is then treated as a duplicate of it. Run one ingress per source
(or route each source to one) for this ordering to hold.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from indexer.events import ChangeEvent, derive_event_id

SLOTS_PER_TIMESTAMP = 1000
"""Distinct changes told apart within one timestamp; later ones share the last slot."""


class RevisionSequencer:
    """Numbers distinct changes of a document that share a timestamp (thread-safe)."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 0:
            raise ValueError("capacity must be zero or more")
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, int], list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def position(self, doc_id: str, timestamp_ms: int, fingerprint: str) -> int:
        """0 for the first change seen at ``timestamp_ms``, its own number again for a
        change seen before, the next number for a new one (capped at the last slot)."""
        with self._lock:
            key = (doc_id, timestamp_ms)
            changes = self._seen.setdefault(key, [])
            self._seen.move_to_end(key)
            if fingerprint not in changes:
                changes.append(fingerprint)
            number = changes.index(fingerprint)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return min(number, SLOTS_PER_TIMESTAMP - 1)


def sequenced(
    event: ChangeEvent, timestamp_ms: int, sequencer: RevisionSequencer | None
) -> ChangeEvent:
    """``event`` with revision ``timestamp_ms * SLOTS_PER_TIMESTAMP + n`` and the event id
    that goes with it; without a sequencer ``n`` is 0 (pure mapping, as in tests)."""
    content = event.model_dump_json(exclude={"event_id", "revision", "emitted_at"})
    fingerprint = hashlib.sha256(content.encode()).hexdigest()
    number = sequencer.position(event.doc_id, timestamp_ms, fingerprint) if sequencer else 0
    revision = timestamp_ms * SLOTS_PER_TIMESTAMP + number
    return event.model_copy(
        update={
            "revision": revision,
            "event_id": derive_event_id(event.source, event.doc_id, event.op.value, revision),
        }
    )
