"""Chunking groups (pure): generations grouped by the documents index of their manifests,
the primary group is the live generation's, a group's lead and chunk size; and what a
group copies instead of embedding (``vector_reuse.reusable``, the pipeline's
``stored_vectors`` and ``chunk_size``)."""

from __future__ import annotations

from collections.abc import Sequence

from indexer.chunks import Chunk
from indexer.documents import Modality
from indexer.encoders.base import Encoders
from indexer.generations.chunking_groups import (
    ChunkSize,
    chunk_size_of,
    chunking_groups,
    group_of,
    primary_group,
)
from indexer.generations.meta import GenerationConfig, GenerationMeta
from indexer.generations.registry import Generation
from indexer.generations.vector_reuse import reusable
from indexer.manifest import ChunkPosition
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store import InMemoryChunkStore
from indexer.vectors import ChunkVectors
from tests.unit.test_pipeline_types import CountingEncoder, event

SHARED = "docs"
DEFAULT = ChunkSize(200, 40)
TEXT = "counting-encoder"


def _generation(
    number: int,
    *,
    live: bool = False,
    documents_index: str | None = None,
    max_tokens: int | None = None,
    overlap_tokens: int | None = None,
    text_model: str = TEXT,
) -> Generation:
    config = GenerationConfig(
        text_model=text_model,
        text_dimensions=4,
        chunk_max_tokens=max_tokens,
        chunk_overlap_tokens=overlap_tokens,
    )
    meta = GenerationMeta(
        config=config,
        state="live" if live else "ready",
        documents_index=documents_index,
    )
    return Generation(name=f"chunks-{number:06d}", meta=meta, live=live)


def test_generations_that_share_a_documents_index_form_one_group_led_by_the_live_one() -> None:
    first = _generation(1)
    second = _generation(2, live=True)
    third = _generation(3, documents_index="docs-000003", max_tokens=90, overlap_tokens=10)
    groups = chunking_groups([first, second, third], SHARED, DEFAULT)
    assert [group.documents_index for group in groups] == [SHARED, "docs-000003"]
    shared, own = groups
    assert shared.primary
    assert not own.primary
    assert shared.names == ("chunks-000002", "chunks-000001")  # the live one leads
    assert shared.lead == second
    assert shared.chunk_size == DEFAULT  # nothing recorded: the worker's settings
    assert own.names == ("chunks-000003",)
    assert own.chunk_size == ChunkSize(90, 10)
    assert own.config == third.meta.config
    assert group_of(groups, "docs-000003") == own
    assert group_of(groups, "elsewhere") is None


def test_after_a_switch_the_other_group_is_primary_and_the_old_one_led_by_its_oldest() -> None:
    first = _generation(1)
    second = _generation(2)
    third = _generation(3, live=True, documents_index="docs-000003", max_tokens=90)
    groups = chunking_groups([first, second, third], SHARED, DEFAULT)
    assert [group.documents_index for group in groups] == ["docs-000003", SHARED]
    assert primary_group(groups, SHARED, DEFAULT).documents_index == "docs-000003"
    assert groups[1].lead == first
    assert not groups[1].primary
    assert groups[0].chunk_size == ChunkSize(90, DEFAULT.overlap_tokens)


def test_with_no_generation_the_shared_group_is_primary_and_empty() -> None:
    groups = chunking_groups([], SHARED, DEFAULT)
    assert len(groups) == 1
    only = groups[0]
    assert (only.documents_index, only.generations, only.chunk_size) == (SHARED, (), DEFAULT)
    assert only.lead is None
    assert only.config is None
    assert not only.primary
    assert primary_group(groups, SHARED, DEFAULT) == only
    # Generations exist but none is live (the alias was removed by hand): the shared one.
    orphan = chunking_groups([_generation(4, documents_index="docs-000004")], SHARED, DEFAULT)
    fallback = primary_group(orphan, SHARED, DEFAULT)
    assert (fallback.documents_index, fallback.generations) == (SHARED, ())


def test_a_recorded_chunk_size_overrides_the_default_field_by_field() -> None:
    config = GenerationConfig(text_model=TEXT, text_dimensions=4, chunk_overlap_tokens=5)
    assert chunk_size_of(config, DEFAULT) == ChunkSize(DEFAULT.max_tokens, 5)


def _chunk(text: str = "Alpha beta.", context: str | None = None) -> Chunk:
    position = ChunkPosition(chunk_id="c1", modality="text", order=0)
    return Chunk("c1", Modality.TEXT, position, text, context=context)


def _stored(**changes: object) -> dict[str, object]:
    source: dict[str, object] = {
        "chunk_id": "c1",
        "text": "Alpha beta.",
        "text_model": TEXT,
        "clip_model": "clip",
        "text_vector": [0.5, 0.5],
        "clip_vector": [1, 0],
        "ocr_text": None,
    }
    source.update(changes)
    return {key: value for key, value in source.items() if value is not None}


def test_stored_vectors_are_reused_only_for_the_same_text_context_and_models() -> None:
    found = reusable(_stored(), _chunk(), TEXT, "clip")
    assert found == ChunkVectors(ocr_text=None, text=[0.5, 0.5], clip=[1.0, 0.0])
    assert reusable(_stored(text="Other."), _chunk(), TEXT, "clip") is None
    assert reusable(_stored(context="around"), _chunk(), TEXT, "clip") is None
    assert reusable(_stored(), _chunk(context="around"), TEXT, "clip") is None
    assert reusable(_stored(), _chunk(), "other-text", "clip") is None
    assert reusable(_stored(), _chunk(), TEXT, "other-clip") is None
    assert reusable(_stored(), _chunk(), TEXT, None) is None  # stored with CLIP, wanted none
    no_clip = _stored(clip_model=None, clip_vector=None)
    assert reusable(no_clip, _chunk(), TEXT, None) == ChunkVectors(None, [0.5, 0.5], None)
    assert reusable(_stored(text_vector=None), _chunk(), TEXT, "clip") is None


class _FirstChunkStored:
    """A ``StoredVectors`` that holds the first chunk it is asked about."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    async def find(
        self, chunks: Sequence[Chunk], text_model: str, clip_model: str | None
    ) -> dict[str, ChunkVectors]:
        self.asked.append((text_model, clip_model))
        return {chunks[0].chunk_id: ChunkVectors(None, [1.0, 0.0, 0.0, 0.0], None)}


async def test_a_pipeline_copies_stored_vectors_and_embeds_only_the_rest() -> None:
    encoder = CountingEncoder()
    store = InMemoryChunkStore()
    settings = IndexerSettings()
    stored = _FirstChunkStored()
    pipeline = IndexingPipeline(
        settings,
        store,
        Encoders(text=encoder, clip=None),
        ContentReader(settings),
        chunk_size=(8, 2),
        stored_vectors=stored,
    )
    await pipeline.setup()
    text = "\n\n".join(f"Paragraph {n} has several words in it." for n in range(6))
    result = await pipeline.process([event("d", 1, text)])
    chunk_ids = result.manifests["d"].chunk_ids
    assert len(chunk_ids) > 2  # small chunks: many of them
    assert stored.asked == [(encoder.name, None)]
    assert result.vectors_copied == 1
    assert result.chunks_embedded == len(chunk_ids) - 1
    assert len(encoder.texts) == len(chunk_ids) - 1
    assert store.chunks[chunk_ids[0]]["text_vector"] == [1.0, 0.0, 0.0, 0.0]
    assert set(store.chunks) == set(chunk_ids)


async def test_a_chunk_size_parameter_changes_the_chunks_and_the_pipeline_version() -> None:
    settings = IndexerSettings()
    text = "\n\n".join(f"Paragraph {n} has several words in it." for n in range(6))
    versions, counts = [], []
    for size in (None, (8, 2)):
        pipeline = IndexingPipeline(
            settings,
            InMemoryChunkStore(),
            Encoders(text=CountingEncoder(), clip=None),
            ContentReader(settings),
            chunk_size=size,
        )
        await pipeline.setup()
        result = await pipeline.process([event("d", 1, text)])
        versions.append(pipeline.pipeline_version)
        counts.append(len(result.manifests["d"].chunk_ids))
        assert result.manifests["d"].pipeline_version == pipeline.pipeline_version
    assert versions[0] != versions[1]
    assert f":{settings.chunk_max_tokens}:" in versions[0]
    assert ":8:2:" in versions[1]
    assert counts[1] > counts[0]
