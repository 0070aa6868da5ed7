"""Which change topic an event goes to (pure).

Two topics carry change events, with the same key (``doc_id``) and partition count:

- the **live** topic (``StreamSettings.changes_topic``): changes a person is waiting to see
  — a watched file saved, moved or deleted, a CMS webhook. The worker reads it first.
- the **backfill** topic (``StreamSettings.backfill_topic``): bulk work nobody watches
  event by event — a watcher's initial scan, a reconciliation (restart, SIGHUP, periodic
  rescan), ``mmrag watch --resend``, ``mmrag dlq replay``, an index rebuild. The worker
  reads it when the live topic leaves room, so a bulk load never holds up a live change.

Events of one document may thus sit on both topics and be read in either order. That is
safe because every event carries a revision that grows per document and the indexer
applies only events newer than what it holds (``indexer.folding``): a delete read before
an older upsert of the same document leaves a tombstone that the upsert cannot overtake.
"""

from __future__ import annotations

from enum import StrEnum

from stream.settings import StreamSettings


class Lane(StrEnum):
    LIVE = "live"
    BACKFILL = "backfill"


class Trigger(StrEnum):
    """Why a producer is sending events."""

    LIVE_CHANGE = "live-change"
    """The watcher saw a file change while watching."""
    CMS_WEBHOOK = "cms-webhook"
    INITIAL_SCAN = "initial-scan"
    """The watcher's first reconciliation when it starts (``mmrag watch``, ``--once``)."""
    RECONCILE = "reconcile"
    """A later reconciliation: SIGHUP or the periodic rescan."""
    RESEND = "resend"
    DEAD_LETTER_REPLAY = "dead-letter-replay"
    REINDEX = "reindex"


_BULK = frozenset(
    {
        Trigger.INITIAL_SCAN,
        Trigger.RECONCILE,
        Trigger.RESEND,
        Trigger.DEAD_LETTER_REPLAY,
        Trigger.REINDEX,
    }
)


def lane_for(trigger: Trigger) -> Lane:
    """Bulk work goes to the backfill lane; everything a person waits on goes live."""
    return Lane.BACKFILL if trigger in _BULK else Lane.LIVE


def topic_for(lane: Lane, settings: StreamSettings) -> str:
    return settings.backfill_topic if lane is Lane.BACKFILL else settings.changes_topic


def change_topics(settings: StreamSettings) -> tuple[str, str]:
    """Both change topics, live first."""
    return settings.changes_topic, settings.backfill_topic
