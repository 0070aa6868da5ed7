"""Prometheus metrics of the worker, in a registry of its own (no global state)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)
WORK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "mmrag_events", "Change events handled, by outcome", ["outcome"], registry=r
        )
        self.chunks_embedded = Counter(
            "mmrag_chunks_embedded", "Chunks embedded (new content)", registry=r
        )
        self.chunks_reused = Counter(
            "mmrag_chunks_reused", "Chunks kept with their stored vectors", registry=r
        )
        self.chunks_deleted = Counter("mmrag_chunks_deleted", "Chunks deleted", registry=r)
        self.images_embedded = Counter(
            "mmrag_images_embedded", "Image chunks embedded with the CLIP model", registry=r
        )
        self.dead_letters = Counter(
            "mmrag_dead_letters", "Records sent to the dead-letter topic", ["stage"], registry=r
        )
        self.backend_retries = Counter(
            "mmrag_backend_retries", "Batches retried after a transient failure", registry=r
        )
        self.batch_size = Histogram(
            "mmrag_batch_size",
            "Events per batch",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250),
            registry=r,
        )
        self.extract_seconds = Histogram(
            "mmrag_extract_seconds",
            "Read, extract and chunk time per batch",
            buckets=WORK_BUCKETS,
            registry=r,
        )
        self.embed_seconds = Histogram(
            "mmrag_embed_seconds", "Embedding time per batch", buckets=WORK_BUCKETS, registry=r
        )
        self.bulk_seconds = Histogram(
            "mmrag_bulk_seconds",
            "Elasticsearch write time per batch",
            buckets=WORK_BUCKETS,
            registry=r,
        )
        self.change_to_indexed = Histogram(
            "mmrag_change_to_indexed_seconds",
            "From a change event's emitted_at to its chunks being written and acknowledged",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.offsets_recovered = Counter(
            "mmrag_offsets_recovered",
            "Records that Faust skipped, read back from Kafka and processed",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "mmrag_consumer_lag",
            "Records not yet processed (high watermark minus processed offset), per lane "
            "(live or backfill topic) and partition",
            ["lane", "partition"],
            registry=r,
        )

    def set_lag(self, lane: str, partition: int, lag: int | None) -> None:
        """``None``: the partition is no longer assigned here, its series goes."""
        if lag is None:
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(lane, str(partition))
        else:
            self.consumer_lag.labels(lane, str(partition)).set(lag)
