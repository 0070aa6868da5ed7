"""The worker's lag gauge follows the assignment: revoked partitions leave no stale lag."""

from __future__ import annotations

from prometheus_client import generate_latest

from stream.worker.metrics import WorkerMetrics


def lag_lines(metrics: WorkerMetrics) -> list[str]:
    text = generate_latest(metrics.registry).decode()
    return [line for line in text.splitlines() if line.startswith("mmrag_consumer_lag{")]


def test_lag_is_set_per_lane_and_partition_and_removed_when_the_partition_goes() -> None:
    metrics = WorkerMetrics()
    metrics.set_lag("live", 1, 5)
    metrics.set_lag("live", 2, 0)
    metrics.set_lag("backfill", 1, 900)
    assert lag_lines(metrics) == [
        'mmrag_consumer_lag{lane="live",partition="1"} 5.0',
        'mmrag_consumer_lag{lane="live",partition="2"} 0.0',
        'mmrag_consumer_lag{lane="backfill",partition="1"} 900.0',
    ]
    metrics.set_lag("live", 1, None)
    metrics.set_lag("live", 7, None)  # never reported: nothing to remove, no error
    metrics.set_lag("backfill", 1, None)
    assert lag_lines(metrics) == ['mmrag_consumer_lag{lane="live",partition="2"} 0.0']
