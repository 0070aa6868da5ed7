"""Pure parts of the worker's failure handling: what is transient, retrying a source,
fitting a dead letter to the record limit, and what a target writes when it fails."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from indexer.dead_letters import REASON_LIMIT, DeadLetter, fit_dead_letter
from indexer.errors import SourceUnavailable, StoreUnavailable
from indexer.events import ChangeEvent
from indexer.manifest import ChunkPosition, Manifest
from indexer.outcomes import DocumentChange, EventOutcome, FoldedDocument
from indexer.source_retry import BatchSources, SourceRetry
from indexer.store.errors import found_items, store_unavailable
from stream.dead_letters.record import dead_letter_record
from stream.producer import MAX_RECORD_BYTES

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _api_error(status: int, error_type: str = "some_exception") -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "127.0.0.1", 9200),
    )
    return ApiError(
        message=error_type, meta=meta, body={"error": {"type": error_type}, "status": status}
    )


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_transient(status: int) -> None:
    unavailable = store_unavailable(_api_error(status), "loading manifests")
    assert isinstance(unavailable, StoreUnavailable)
    assert str(status) in unavailable.reason
    assert "loading manifests" in unavailable.reason


def test_closed_or_missing_indexes_are_transient_a_bad_request_is_not() -> None:
    assert store_unavailable(_api_error(400, "index_closed_exception"), "x") is not None
    assert store_unavailable(_api_error(404, "index_not_found_exception"), "x") is not None
    assert store_unavailable(_api_error(400, "mapper_parsing_exception"), "x") is None
    assert store_unavailable(_api_error(404, "resource_not_found_exception"), "x") is None
    assert store_unavailable(ConnectionError("refused"), "x") is not None
    assert store_unavailable(KeyError("a bug"), "x") is None


def test_an_mget_item_with_an_error_is_not_read_as_not_found() -> None:
    docs: list[dict[str, Any]] = [
        {"_id": "a", "found": True},
        {"_id": "b", "found": False},
        {"_id": "c", "error": {"type": "index_closed_exception", "reason": "closed"}},
    ]
    with pytest.raises(StoreUnavailable, match=r"1 of 3 .*index_closed_exception: closed"):
        found_items(docs, "loading manifests")
    assert [item["_id"] for item in found_items(docs[:2], "x")] == ["a"]


async def test_a_source_is_retried_with_backoff_then_given_up_on() -> None:
    sleeps: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def failing() -> bytes:
        nonlocal calls
        calls += 1
        raise SourceUnavailable("503")

    retry = SourceRetry(attempts=4, initial_delay_s=1.0, max_delay_s=3.0, sleep=sleep)
    with pytest.raises(SourceUnavailable):
        await retry.read(failing, "https://cms/a")
    assert calls == 4
    assert sleeps == [1.0, 2.0, 3.0]
    assert retry.budget_s == 6.0


async def test_a_source_that_comes_back_within_the_budget_is_read() -> None:
    answers: list[bytes | Exception] = [SourceUnavailable("503"), b"body"]

    async def sleep(seconds: float) -> None:
        return None

    async def flaky() -> bytes:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await SourceRetry(attempts=2, sleep=sleep).read(flaky, "https://cms/a") == b"body"


async def test_a_host_given_up_on_costs_a_batch_a_bounded_number_of_tries() -> None:
    tries: list[str] = []
    healthy = {"https://ok.example/2"}

    async def sleep(seconds: float) -> None:
        return None

    def reader(uri: str) -> Callable[[], Awaitable[bytes]]:
        async def read() -> bytes:
            tries.append(uri)
            if uri in healthy:
                return b"fine"
            raise SourceUnavailable("503", uri=uri)

        return read

    sources = BatchSources(SourceRetry(attempts=3, sleep=sleep))
    down = [f"https://down.example/{n}" for n in range(4)]
    for uri in down:
        with pytest.raises(SourceUnavailable):
            await sources.read(reader(uri), uri)
    assert [tries.count(uri) for uri in down] == [3, 1, 0, 0]
    with pytest.raises(SourceUnavailable):  # another host still gets every retry
        await sources.read(reader("https://ok.example/1"), "https://ok.example/1")
    assert await sources.read(reader("https://ok.example/2"), "https://ok.example/2") == b"fine"
    tries.clear()
    with pytest.raises(SourceUnavailable):  # answered again: forgiven
        await sources.read(reader("https://ok.example/3"), "https://ok.example/3")
    assert tries == ["https://ok.example/3"] * 3


def _letter(original: bytes, reason: str = "broken") -> DeadLetter:
    return DeadLetter(
        stage="extract",
        reason=reason,
        doc_id="d",
        original_base64=DeadLetter.encode_original(original),
        original_topic="mmrag.changes",
        original_partition=2,
        original_offset=41,
    )


def test_a_letter_that_fits_is_kept_whole() -> None:
    letter = _letter(b"x" * 800_000)
    assert fit_dead_letter(letter, MAX_RECORD_BYTES) == letter


def test_a_letter_over_the_limit_loses_its_original_with_a_note_saying_where_it_is() -> None:
    letter = _letter(b"x" * 3_500_000, reason="r" * 50_000)
    record = dead_letter_record(letter, MAX_RECORD_BYTES)
    assert len(record.value) < MAX_RECORD_BYTES - 1000
    written = DeadLetter.model_validate(json.loads(record.value))
    assert written.original_base64 is None
    assert written.reason.startswith("r" * REASON_LIMIT)
    assert "reason cut from 50000 characters" in written.reason
    assert "original event of 3500000 bytes left out" in written.reason
    assert "mmrag.changes:2:41" in written.reason
    assert written.stage == "extract"
    assert record.headers == [("stage", b"extract")]
    assert record.key == b"d"


def test_a_long_reason_is_cut_before_the_original_is_given_up() -> None:
    letter = _letter(b"event", reason="r" * 100_000)
    fitted = fit_dead_letter(letter, 20_000)
    assert fitted.original_bytes() == b"event"
    assert len(fitted.to_json_bytes()) <= 20_000


def _event(op: str, revision: int) -> ChangeEvent:
    return ChangeEvent.model_validate(
        {
            "event_id": f"{op}-{revision}",
            "source": "fs:t",
            "doc_id": "d",
            "op": op,
            "uri": "file:///t/a.md",
            "revision": revision,
            "emitted_at": NOW,
        }
    )


def _positions(*ids: str) -> tuple[ChunkPosition, ...]:
    return tuple(
        ChunkPosition(chunk_id=chunk_id, modality="text", order=n) for n, chunk_id in enumerate(ids)
    )


def test_missing_chunks_are_not_counted_as_stored() -> None:
    start = Manifest(doc_id="d", revision=1, chunks=_positions("a", "b", "c"))
    target = DocumentChange("d", start=start, manifest=start, missing=frozenset({"b"}))
    assert [p.chunk_id for p in target.stored_positions] == ["a", "c"]


def test_a_failed_target_writes_nothing_and_fails_what_would_have_changed_it() -> None:
    start = Manifest(doc_id="d", revision=1)
    change = DocumentChange("d", start=start, manifest=Manifest(doc_id="d", revision=3))
    outcomes = (
        EventOutcome(_event("upsert", 1), "stale"),
        EventOutcome(_event("upsert", 2), "superseded"),
        EventOutcome(_event("upsert", 3), "indexed"),
    )
    target = FoldedDocument("d", outcomes, change).failed("encode", "embedding failed")
    assert target.change is None
    assert [(o.status, o.stage) for o in target.outcomes] == [
        ("stale", None),
        ("failed", "encode"),
        ("failed", "encode"),
    ]
