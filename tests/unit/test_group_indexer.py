"""``ChunkingGroupIndexer`` over recording pipelines (no services): the primary group
answers, every secondary group gets the same events after it, a secondary failure never
fails the batch, cached manifests reach the primary only when of its chunking, and roles
follow the live generation without a restart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from indexer.errors import StoreUnavailable
from indexer.events import ChangeEvent
from indexer.generations.chunking_groups import ChunkingGroup, ChunkSize
from indexer.generations.group_indexer import ChunkingGroupIndexer, GroupPipeline
from indexer.generations.registry import Generation
from indexer.manifest import DocumentFields, Manifest
from indexer.outcomes import BatchResult, EventOutcome
from indexer.store.mappings import VectorSpace
from tests.unit.test_chunking_groups import _generation
from tests.unit.test_pipeline_types import event

SHARED = "docs"


class _View:
    def __init__(self, generations: list[Generation]) -> None:
        self.generations = generations

    async def wait_until_ready(self) -> None:
        return None

    async def current(self) -> list[Generation]:
        return self.generations


class _Pipeline:
    def __init__(self, group: ChunkingGroup, primary: bool, log: list[str], fail: bool) -> None:
        self.group, self.primary, self.log, self.fail = group, primary, log, fail
        self.cached: list[dict[str, Manifest]] = []
        self.closed = False

    @property
    def pipeline_version(self) -> str:
        return f"chunks/{self.group.chunk_size.max_tokens}"

    @property
    def vector_space(self) -> VectorSpace:
        return VectorSpace("counting-encoder", 4, None, None)

    async def setup(self) -> str:
        lead = self.group.lead
        return lead.name if lead else "new"

    async def process(
        self, events: Sequence[ChangeEvent], cached: Mapping[str, Manifest] | None = None
    ) -> BatchResult:
        self.log.append(self.group.documents_index)
        self.cached.append(dict(cached or {}))
        if self.fail:
            raise StoreUnavailable("the group's index is closed")
        result = BatchResult()
        result.outcomes.extend(EventOutcome(e, "indexed") for e in events)
        result.manifests.update(
            {e.doc_id: _manifest(e.doc_id, self.pipeline_version) for e in events}
        )
        return result

    async def close(self) -> None:
        self.closed = True


def _manifest(doc_id: str, version: str) -> Manifest:
    fields = DocumentFields(source="cms:test", uri=f"https://cms.test/{doc_id}")
    return Manifest(doc_id=doc_id, revision=1, fields=fields, pipeline_version=version)


class _Factory:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.built: list[_Pipeline] = []
        self.log: list[str] = []
        self.failing = failing or set()

    async def __call__(self, group: ChunkingGroup, primary: bool) -> GroupPipeline:
        pipeline = _Pipeline(group, primary, self.log, group.documents_index in self.failing)
        self.built.append(pipeline)
        return pipeline


def _indexer(view: _View, factory: _Factory) -> ChunkingGroupIndexer:
    return ChunkingGroupIndexer(
        view, factory, shared_documents_index=SHARED, default_chunk_size=ChunkSize(200, 40)
    )


GENERATIONS = [
    _generation(1, live=True),
    _generation(2, documents_index="docs-000002", max_tokens=90),
]


async def test_the_primary_answers_and_every_secondary_gets_the_same_events_after_it() -> None:
    factory = _Factory()
    indexer = _indexer(_View(list(GENERATIONS)), factory)
    lead, primary = await indexer.setup()
    assert lead == "chunks-000001"
    assert primary.pipeline_version == "chunks/200"
    events = [event("a", 1, "Alpha."), event("b", 1, "Beta.")]
    cached = {"a": _manifest("a", "chunks/200"), "b": _manifest("b", "chunks/90")}
    result = await indexer.process(events, cached)
    assert factory.log == [SHARED, "docs-000002"]
    assert set(result.manifests) == {"a", "b"}
    assert {m.pipeline_version for m in result.manifests.values()} == {"chunks/200"}
    first, second = factory.built
    assert (first.primary, second.primary) == (True, False)
    assert list(first.cached[-1]) == ["a"]  # b's cached manifest is of another chunking
    assert second.cached == [{}]  # a secondary reads its own group's manifests
    await indexer.process(events)
    assert len(factory.built) == 2  # built once per group and role


async def test_a_failing_secondary_group_is_logged_and_never_fails_the_batch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory = _Factory(failing={"docs-000002"})
    indexer = _indexer(_View(list(GENERATIONS)), factory)
    result = await indexer.process([event("a", 1, "Alpha.")])
    assert [o.status for o in result.outcomes] == ["indexed"]
    assert "chunking_group_failed" in caplog.text
    assert "docs-000002" in caplog.text


async def test_a_failing_primary_fails_the_batch() -> None:
    indexer = _indexer(_View(list(GENERATIONS)), _Factory(failing={SHARED}))
    with pytest.raises(StoreUnavailable):
        await indexer.process([event("a", 1, "Alpha.")])


async def test_roles_follow_the_live_generation_and_a_dropped_group_is_closed() -> None:
    view = _View(list(GENERATIONS))
    factory = _Factory()
    indexer = _indexer(view, factory)
    await indexer.process([event("a", 1, "Alpha.")])
    view.generations = [
        _generation(1),
        _generation(2, live=True, documents_index="docs-000002", max_tokens=90),
    ]
    result = await indexer.process([event("a", 2, "Alpha again.")])
    assert factory.log[-2:] == ["docs-000002", SHARED]  # the new primary first
    assert {m.pipeline_version for m in result.manifests.values()} == {"chunks/90"}
    old_shared, old_own, new_own, new_shared = factory.built
    assert old_shared.closed
    assert old_own.closed
    assert (new_own.primary, new_shared.primary) == (True, False)

    view.generations = [_generation(2, live=True, documents_index="docs-000002", max_tokens=90)]
    await indexer.process([event("a", 3, "Alpha, third.")])
    assert new_shared.closed
    assert not new_own.closed
    await indexer.close()
    assert new_own.closed
