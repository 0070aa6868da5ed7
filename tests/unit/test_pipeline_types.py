"""The pipeline's types and its orchestration on the in-memory store (no services): outcomes
always carry a stage when they fail, manifests advance in one place, and a pipeline built
for another lane shares the store and reader without closing them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pytest

from indexer.encoders.base import Encoders
from indexer.events import ChangeEvent, Operation
from indexer.manifest import ChunkPosition, DocumentFields, Manifest
from indexer.outcomes import EventOutcome
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store import ChunkOperation, DocumentWrite, InMemoryChunkStore

if TYPE_CHECKING:
    from indexer.encoders.base import Vectors

NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)


class CountingEncoder:
    """A tiny deterministic text encoder that records every text it is asked to embed."""

    name = "counting-encoder"
    dimensions = 4
    tokenizer_name = "whitespace"
    max_input_tokens = 256

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        rows = np.array([[len(t), t.count(" ") + 1, 1.0, 0.5] for t in texts], np.float32)
        normalised: Vectors = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return normalised

    @property
    def texts(self) -> list[str]:
        return [text for call in self.calls for text in call]


class ClosingStore(InMemoryChunkStore):
    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


def event(
    doc_id: str, revision: int, text: str | None, op: str = "upsert", new_uri: str | None = None
) -> ChangeEvent:
    return ChangeEvent(
        event_id=f"{doc_id}-{op}-{revision}",
        source="cms:test",
        doc_id=doc_id,
        op=Operation(op),
        uri=f"https://cms.test/{doc_id}",
        revision=revision,
        content_type="text/plain" if text is not None else None,
        text=text,
        new_uri=new_uri,
        emitted_at=NOW,
    )


async def ready_pipeline(
    encoder: CountingEncoder, store: InMemoryChunkStore | None = None
) -> tuple[IndexingPipeline, InMemoryChunkStore]:
    store = store or InMemoryChunkStore()
    settings = IndexerSettings()
    pipeline = IndexingPipeline(
        settings, store, Encoders(text=encoder, clip=None), ContentReader(settings)
    )
    await pipeline.setup()
    return pipeline, store


def test_a_failed_outcome_needs_a_stage_and_no_other_outcome_has_one() -> None:
    upsert = event("d", 1, "text")
    assert EventOutcome.failure(upsert, "fetch", "down").stage == "fetch"
    with pytest.raises(ValueError, match="needs stage"):
        EventOutcome(upsert, "failed", "no stage")
    with pytest.raises(ValueError, match="has no stage"):
        EventOutcome(upsert, "indexed", None, "extract")


def test_an_advanced_manifest_keeps_its_chunks_and_takes_the_events_revision() -> None:
    positions = (ChunkPosition(chunk_id="a", modality="text", order=0),)
    fields = DocumentFields(source="cms:test", uri="https://cms.test/d")
    start = Manifest(doc_id="d", revision=1, fields=fields, chunks=positions, content_sha256="x")
    moved = fields.model_copy(update={"uri": "https://cms.test/e"})
    advanced = start.advanced(event("d", 7, None, "delete"), moved)
    assert (advanced.revision, advanced.fields, advanced.emitted_at) == (7, moved, NOW)
    assert (advanced.chunks, advanced.content_sha256) == (positions, "x")
    assert start.revision == 1
    assert advanced.without_chunks({"a"}).chunks == ()


async def test_indexing_then_replaying_then_deleting_through_the_pipeline() -> None:
    encoder = CountingEncoder()
    pipeline, store = await ready_pipeline(encoder)
    first = await pipeline.process([event("d", 1, "Alpha words here.\n\nBeta words there.")])
    assert [o.status for o in first.outcomes] == ["indexed"]
    assert first.manifests["d"].revision == 1
    stored = set(store.chunks)
    assert stored == set(first.manifests["d"].chunk_ids)
    assert first.chunks_embedded == len(stored) > 0
    calls = len(encoder.calls)

    again = await pipeline.process(
        [event("d", 2, "Alpha words here.\n\nBeta words there.")], first.manifests
    )
    assert [o.status for o in again.outcomes] == ["unchanged"]
    assert len(encoder.calls) == calls  # nothing embedded again
    assert again.manifests["d"].revision == 2

    gone = await pipeline.process([event("d", 3, None, "delete")], again.manifests)
    assert [o.status for o in gone.outcomes] == ["deleted"]
    assert gone.chunks_deleted == len(stored)
    assert dict(store.chunks) == {}


async def test_a_pipeline_for_another_lane_shares_the_store_and_closes_nothing() -> None:
    owner, store = await ready_pipeline(CountingEncoder(), ClosingStore())
    other_encoder = CountingEncoder()
    lane = owner.sharing(Encoders(text=other_encoder, clip=None))
    result = await lane.process([event("d", 1, "Shared store words.")])
    assert [o.status for o in result.outcomes] == ["indexed"]
    assert other_encoder.calls  # the lane's encoders did the work
    assert set(store.chunks) == set(result.manifests["d"].chunk_ids)
    await lane.close()
    await lane.close()
    assert isinstance(store, ClosingStore)
    assert store.closed == 0
    await owner.close()
    await owner.close()
    assert store.closed == 1


async def test_chunks_gone_from_the_store_are_restored_and_only_they_are_embedded() -> None:
    encoder = CountingEncoder()
    pipeline, store = await ready_pipeline(encoder)
    text = "First part here.\n\n" + " ".join(f"word{n}" for n in range(400))
    first = await pipeline.process([event("d", 1, text)])
    manifest = first.manifests["d"]
    assert len(manifest.chunk_ids) >= 2
    lost = manifest.chunk_ids[-1]
    await store.apply([DocumentWrite("d", [ChunkOperation("delete", lost)], manifest)])
    embedded_before = len(encoder.texts)

    again = await pipeline.process([event("d", 2, text)], first.manifests)
    assert [o.status for o in again.outcomes] == ["restored"]
    assert len(encoder.texts) == embedded_before + 1
    assert again.chunks_embedded == 1
    assert lost in store.chunks


async def test_a_move_after_content_that_failed_fails_with_the_same_stage() -> None:
    pipeline, store = await ready_pipeline(CountingEncoder())
    unsupported = event("d", 1, "bytes").model_copy(update={"content_type": "x-unknown/type"})
    moved = event("d", 2, None, "move", new_uri="https://cms.test/e")
    result = await pipeline.process([unsupported, moved])
    assert [(o.status, o.stage) for o in result.outcomes] == [
        ("failed", "extract"),
        ("failed", "extract"),
    ]
    assert "failed earlier in the batch" in (result.outcomes[1].reason or "")
    assert result.manifests == {}
    assert dict(store.chunks) == {}
