"""The worker's batch handling: dead letters, retries, give-up without acknowledging.

The pipeline here is a fake standing in for Elasticsearch + models (pure control flow);
the real pipeline is exercised in tests/integration/test_worker.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from indexer.dead_letters import DeadLetter, Stage
from indexer.errors import StoreUnavailable
from indexer.events import ChangeEvent
from indexer.manifest import Manifest
from indexer.pipeline import BatchResult, EventOutcome
from stream.worker.metrics import WorkerMetrics
from stream.worker.processor import ChangeBatchProcessor
from stream.worker.records import RawRecord


def _record(value: bytes | None, offset: int = 0) -> RawRecord:
    return RawRecord(key=b"d", value=value, topic="t", partition=0, offset=offset)


def _valid(doc_id: str = "d", revision: int = 1) -> bytes:
    return json.dumps(
        {
            "schema": "mmrag.change/1",
            "event_id": f"e-{doc_id}-{revision}",
            "source": "fs:t",
            "doc_id": doc_id,
            "op": "upsert",
            "uri": f"file:///t/{doc_id}.md",
            "revision": revision,
            "emitted_at": datetime.now(UTC).isoformat(),
        }
    ).encode()


class FakePipeline:
    def __init__(self, failures_before_success: int = 0, fail_doc: str | None = None):
        self.failures_left = failures_before_success
        self.fail_doc = fail_doc
        self.calls: list[tuple[list[ChangeEvent], Mapping[str, Manifest]]] = []

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult:
        self.calls.append((list(events), dict(cached or {})))
        if self.failures_left:
            self.failures_left -= 1
            raise StoreUnavailable("connection refused")
        result = BatchResult()
        for event in events:
            if event.doc_id == self.fail_doc:
                result.outcomes.append(EventOutcome(event, "failed", "PDF is encrypted", "extract"))
            else:
                result.outcomes.append(EventOutcome(event, "indexed"))
                result.manifests[event.doc_id] = Manifest(
                    doc_id=event.doc_id, revision=event.revision
                )
        result.chunks_embedded = 3
        return result

    async def close(self) -> None:
        pass


class Harness:
    def __init__(self, pipeline: FakePipeline, retries: int = 3) -> None:
        self.letters: list[DeadLetter] = []
        self.table: dict[str, Any] = {}
        self.sleeps: list[float] = []
        self.exit_codes: list[int] = []
        self.metrics = WorkerMetrics()

        async def sink(letter: DeadLetter) -> None:
            self.letters.append(letter)

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        def give_up(code: int) -> None:
            self.exit_codes.append(code)
            raise SystemExit(code)

        self.processor = ChangeBatchProcessor(
            pipeline,
            sink,
            self.metrics,
            self.table,
            max_transient_retries=retries,
            give_up=give_up,
            sleep=sleep,
        )

    def counter(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels or None)
        return value or 0.0


async def test_invalid_records_and_failed_documents_are_dead_lettered_others_go_on() -> None:
    harness = Harness(FakePipeline(fail_doc="bad"))
    records = [
        _record(b"{not json", 0),
        _record(_valid("good"), 1),
        _record(_valid("bad"), 2),
        _record(None, 3),  # a tombstone is skipped, not dead-lettered
    ]
    result = await harness.processor.handle(records)
    assert result is not None
    stages = [(letter.stage, letter.original_offset) for letter in harness.letters]
    assert stages == [("decode", 0), ("extract", 2)]
    assert "not valid JSON" in harness.letters[0].reason
    assert harness.letters[0].original_bytes() == b"{not json"
    assert harness.letters[1].reason == "PDF is encrypted"
    assert harness.letters[1].doc_id == "bad"
    assert set(harness.table) == {"good"}
    assert harness.counter("mmrag_events_total", outcome="indexed") == 1
    assert harness.counter("mmrag_events_total", outcome="invalid") == 1
    assert harness.counter("mmrag_dead_letters_total", stage="extract") == 1
    assert harness.counter("mmrag_chunks_embedded_total") == 3


async def test_cached_manifests_come_from_the_table() -> None:
    pipeline = FakePipeline()
    harness = Harness(pipeline)
    harness.table["good"] = Manifest(doc_id="good", revision=1).model_dump(mode="json")
    await harness.processor.handle([_record(_valid("good", 2))])
    _, cached = pipeline.calls[0]
    assert cached["good"].revision == 1
    assert harness.table["good"]["revision"] == 2


async def test_transient_failures_are_retried_with_backoff() -> None:
    pipeline = FakePipeline(failures_before_success=2)
    harness = Harness(pipeline, retries=3)
    await harness.processor.handle([_record(_valid())])
    assert len(pipeline.calls) == 3
    assert harness.sleeps == [1.0, 2.0]
    assert harness.counter("mmrag_backend_retries_total") == 2
    assert harness.exit_codes == []


async def test_an_outage_longer_than_the_retries_exits_without_acknowledging() -> None:
    pipeline = FakePipeline(failures_before_success=100)
    harness = Harness(pipeline, retries=2)
    with pytest.raises(SystemExit):
        await harness.processor.handle([_record(_valid())])
    assert harness.exit_codes == [70]
    assert len(pipeline.calls) == 3
    assert harness.table == {}
    assert harness.letters == []  # an outage is not the event's fault


class BuggyPipeline(FakePipeline):
    """Raises an unexpected error whenever a batch holds ``buggy_doc``."""

    def __init__(self, buggy_doc: str = "a") -> None:
        super().__init__()
        self.buggy_doc = buggy_doc

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult:
        if any(event.doc_id == self.buggy_doc for event in events):
            self.calls.append((list(events), dict(cached or {})))
            raise KeyError("a bug")
        return await super().process(events, cached)


async def test_a_bug_dead_letters_only_the_documents_it_hits() -> None:
    pipeline = BuggyPipeline(buggy_doc="a")
    harness = Harness(pipeline)
    records = [_record(_valid("a")), _record(_valid("b"), 1), _record(_valid("a", 2), 2)]
    result = await harness.processor.handle(records)
    assert result is not None
    assert [
        (letter.stage, letter.doc_id, letter.original_offset) for letter in harness.letters
    ] == [
        ("internal", "a", 0),
        ("internal", "a", 2),
    ]
    assert "KeyError" in harness.letters[0].reason
    assert set(harness.table) == {"b"}  # the other document of the batch is indexed
    assert [[e.doc_id for e in events] for events, _ in pipeline.calls] == [
        ["a", "b", "a"],  # the batch
        ["a", "a"],  # then document by document
        ["b"],
    ]
    assert harness.counter("mmrag_events_total", outcome="indexed") == 1
    assert harness.counter("mmrag_events_total", outcome="failed") == 2
    assert harness.exit_codes == []


class StagedFailures(FakePipeline):
    """Each document named after a stage fails there, as the real pipeline reports it."""

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult:
        result = BatchResult()
        for event in events:
            if event.doc_id in ("fetch", "encode", "store"):
                stage = cast(Stage, event.doc_id)
                result.outcomes.append(EventOutcome(event, "failed", f"{stage} broke", stage))
            else:
                result.outcomes.append(EventOutcome(event, "restored"))
        return result


async def test_each_failed_document_is_dead_lettered_with_its_stage() -> None:
    harness = Harness(StagedFailures())
    records = [
        _record(_valid(name), n) for n, name in enumerate(["fetch", "ok", "encode", "store"])
    ]
    await harness.processor.handle(records)
    assert [(letter.stage, letter.doc_id, letter.reason) for letter in harness.letters] == [
        ("fetch", "fetch", "fetch broke"),
        ("encode", "encode", "encode broke"),
        ("store", "store", "store broke"),
    ]
    assert harness.counter("mmrag_dead_letters_total", stage="fetch") == 1
    assert harness.counter("mmrag_events_total", outcome="restored") == 1
