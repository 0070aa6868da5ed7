"""One reading of where the indexing stands (pure data, and the pure parts of reading it).

- Kafka: per lane (live, backfill), the worker group's offsets on that lane's topic: events
  not processed yet (lag) and events processed so far (the group's position, summed).
- Elasticsearch: per source, the documents searchable (manifests not deleted) and their
  chunks (the manifests' ``chunk_count``), and the chunks alias's ``_count``. The manifests
  are the served generation's: the one the chunks alias points at keeps them in its own
  documents index when it chunks differently (``GenerationMeta.documents_index``).
- The watcher's state on this machine: per ``fs:`` source, the documents it has sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.change_log import TopicOffsets, topic_lag
from indexer.generations.meta import documents_index_in
from indexer.store.mappings import LIVE_MANIFESTS
from stream.lanes import Lane

MAX_SOURCES = 1000


@dataclass(frozen=True)
class LaneReading:
    lane: Lane
    topic: str
    pending: int
    """Events on the topic the worker group has not processed (committed) yet."""
    processed: int
    """Where the group stands, summed over partitions: grows by one per processed event."""
    partitions: int


@dataclass(frozen=True)
class SourceReading:
    source: str
    searchable_documents: int
    chunks: int
    sent_documents: int | None = None
    """Documents the watcher of this source has sent (None: not watched from here)."""


@dataclass(frozen=True)
class Snapshot:
    at: float
    """Seconds on a monotonic clock."""
    lanes: tuple[LaneReading, ...] = ()
    sources: tuple[SourceReading, ...] = ()
    chunks_searchable: int | None = None
    offsets: Mapping[str, TopicOffsets] = field(default_factory=dict)
    """The raw offsets per topic (for what one producer sent: :func:`pending_of_sent`)."""
    errors: tuple[str, ...] = ()
    """What could not be read (``kafka: …``, ``elasticsearch: …``)."""
    generation: str | None = None
    """The generation the chunks alias serves (``None``: nothing indexed, or unread)."""
    documents_index: str | None = None
    """The documents index the searchable counts come from (``None``: unread)."""

    @property
    def pending(self) -> int:
        return sum(lane.pending for lane in self.lanes)


def lane_readings(
    offsets: Mapping[str, TopicOffsets], topics: Mapping[Lane, str]
) -> tuple[LaneReading, ...]:
    """Per lane, from the group's offsets on each lane's topic (a missing topic reads as
    an empty lane)."""
    readings = []
    for lane, topic in topics.items():
        partitions = offsets.get(topic, {})
        readings.append(
            LaneReading(
                lane=lane,
                topic=topic,
                pending=topic_lag(partitions),
                processed=sum(p.position - p.beginning for p in partitions.values()),
                partitions=len(partitions),
            )
        )
    return tuple(readings)


def pending_of_sent(
    sent_ends: Mapping[tuple[str, int], int], offsets: Mapping[str, TopicOffsets]
) -> int:
    """Of what one producer sent (``ChangeProducer.sent_ends``: per topic and partition,
    the offset past its last record), how many records the group has not processed: per
    partition, that end minus the group's position. Records of other producers on the
    same partitions before ours count too (the worker must get through them first)."""
    remaining = 0
    for (topic, partition), end in sent_ends.items():
        reading = offsets.get(topic, {}).get(partition)
        position = reading.position if reading is not None else 0
        remaining += max(0, end - position)
    return remaining


@dataclass(frozen=True)
class Served:
    """The generation the chunks alias points at and the index of its manifests."""

    generation: str | None
    documents_index: str


def served_generation(mapping: Mapping[str, Any], shared: str) -> Served:
    """From the chunks alias's ``_mapping`` response: the generation it serves and where
    that generation's manifests are (``shared``, ``MMRAG_DOCUMENTS_INDEX``, unless its
    ``_meta`` names its own documents index). An empty response (no alias yet) or a
    ``_meta`` that is not a generation's reads as the shared index."""
    if not mapping:
        return Served(None, shared)
    generation = sorted(mapping)[-1]
    meta = mapping[generation].get("mappings", {}).get("_meta", {})
    return Served(str(generation), documents_index_in(meta) or shared)


def sources_query() -> dict[str, Any]:
    """Documents index: live (not deleted) manifests per source, with their chunks."""
    return {
        "size": 0,
        "query": LIVE_MANIFESTS,
        "aggs": {
            "sources": {
                "terms": {"field": "source", "size": MAX_SOURCES, "order": {"_key": "asc"}},
                "aggs": {"chunks": {"sum": {"field": "chunk_count"}}},
            }
        },
    }


def source_readings(
    response: Mapping[str, Any], sent: Mapping[str, int]
) -> tuple[SourceReading, ...]:
    """Per source from the :func:`sources_query` response and the watcher's sent counts;
    a source sent but with nothing searchable yet is listed with zeros."""
    buckets = response.get("aggregations", {}).get("sources", {}).get("buckets", [])
    searchable = {
        str(bucket["key"]): (int(bucket["doc_count"]), int(bucket["chunks"]["value"] or 0))
        for bucket in buckets
    }
    names = sorted(set(searchable) | set(sent))
    return tuple(
        SourceReading(
            source=name,
            searchable_documents=searchable.get(name, (0, 0))[0],
            chunks=searchable.get(name, (0, 0))[1],
            sent_documents=sent.get(name),
        )
        for name in names
    )


def source_of_doc_id(doc_id: str) -> str:
    """The source of an id made by ``indexer.events.derive_doc_id`` (``source:hash``)."""
    return doc_id.rsplit(":", 1)[0]


def processed_since(first: Snapshot, now: Snapshot) -> int:
    """Events the worker processed between two readings, over every lane."""
    before = {lane.lane: lane.processed for lane in first.lanes}
    return sum(max(0, lane.processed - before.get(lane.lane, lane.processed)) for lane in now.lanes)
