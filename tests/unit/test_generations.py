"""Index generations, the pure parts: names and order, ``_meta`` (de)serialisation, which
vectors a new generation copies, the promotion gate, the repair of one document, the
rollback target, and the settings that load a generation's encoders again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from indexer.encoders.settings import EncoderSettings
from indexer.generations.encoders import model_of, runtime_of, settings_for
from indexer.generations.gate import decide_promotion
from indexer.generations.meta import (
    BuildProgress,
    GenerationConfig,
    GenerationMeta,
    GenerationMetaError,
)
from indexer.generations.naming import (
    generation_documents_index,
    generation_number,
    next_generation,
    ordered_generations,
)
from indexer.generations.registry import Generation, GenerationError, rollback_target
from indexer.generations.repair import plan_repair
from indexer.generations.reuse import plan_reuse
from indexer.store.mappings import VectorSpace

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
CONFIG = GenerationConfig(
    text_model=MINILM,
    text_dimensions=384,
    clip_model="/models/clip-a",
    clip_dimensions=32,
    chunking="chunks/2:200:40:bert:context=48",
)


def test_generation_names_are_numbered_and_ordered_by_number() -> None:
    alias = "mmrag-chunks"
    assert generation_number(alias, "mmrag-chunks-000012") == 12
    assert generation_number(alias, "mmrag-chunks-12") is None
    assert generation_number(alias, "mmrag-documents") is None
    assert generation_number(alias, "other-chunks-000001") is None
    names = ["mmrag-chunks-000010", "mmrag-chunks-000002", "mmrag-chunks-x", "unrelated"]
    assert ordered_generations(alias, names) == ["mmrag-chunks-000002", "mmrag-chunks-000010"]
    assert next_generation(alias, names) == "mmrag-chunks-000011"
    assert next_generation(alias, []) == "mmrag-chunks-000001"


def test_meta_keeps_the_vector_space_keys_at_the_top_and_round_trips() -> None:
    meta = GenerationMeta(
        config=CONFIG,
        state="ready",
        build=BuildProgress(cursor="doc-9", documents_total=10, documents_done=9),
        evaluation={"g1": {"recall@5": 0.8}},
    )
    stored = meta.to_meta()
    expected_top = VectorSpace(MINILM, 384, "/models/clip-a", 32).as_meta()
    assert {key: stored[key] for key in expected_top} == expected_top
    assert stored["generation"]["state"] == "ready"
    assert GenerationMeta.from_meta(stored) == meta


def test_meta_of_a_generation_that_chunks_differently_round_trips() -> None:
    config = CONFIG.model_copy(update={"chunk_max_tokens": 120, "chunk_overlap_tokens": 20})
    meta = GenerationMeta(config=config, documents_index="mmrag-documents-000002")
    again = GenerationMeta.from_meta(meta.to_meta())
    assert again == meta
    assert again.config.chunk_max_tokens == 120
    assert again.documents_index_or("mmrag-documents") == "mmrag-documents-000002"
    assert GenerationMeta(config=CONFIG).documents_index_or("mmrag-documents") == (
        "mmrag-documents"
    )
    assert generation_documents_index("mmrag-documents", "mmrag-chunks", "mmrag-chunks-000002") == (
        "mmrag-documents-000002"
    )
    with pytest.raises(ValueError, match="not a generation"):
        generation_documents_index("mmrag-documents", "mmrag-chunks", "other-000002")


def test_meta_of_a_generation_made_before_generations_is_live_or_retired() -> None:
    legacy = VectorSpace(MINILM, 384, None, None).as_meta()
    assert GenerationMeta.from_meta(legacy, live=True).state == "live"
    old = GenerationMeta.from_meta(legacy, live=False)
    assert old.state == "retired"
    assert old.config.runtime == "torch"
    int8 = VectorSpace(f"{MINILM}@onnx-int8", 384, None, None).as_meta()
    assert GenerationMeta.from_meta(int8, live=True).config.runtime == "onnx-int8"
    assert old.config.chunking is None
    with pytest.raises(GenerationMetaError):
        GenerationMeta.from_meta({"text_dimensions": 384})


def test_build_progress_eta_and_reused_share() -> None:
    assert BuildProgress().eta_seconds() is None
    progress = BuildProgress(
        documents_total=100,
        documents_done=25,
        seconds=10.0,
        text_vectors_reused=30,
        clip_vectors_embedded=10,
    )
    assert progress.eta_seconds() == pytest.approx(30.0)
    assert progress.reused_share == pytest.approx(0.75)
    assert progress.model_copy(update={"finished": True}).eta_seconds() == 0.0


def test_a_clip_only_change_copies_text_vectors_and_embeds_clip_vectors() -> None:
    target = CONFIG.model_copy(update={"clip_model": "/models/clip-b"})
    plan = plan_reuse(CONFIG, target)
    assert (plan.text, plan.clip) == ("copy", "embed")


def test_a_text_change_copies_clip_vectors() -> None:
    target = CONFIG.model_copy(update={"text_model": MINILM + "@onnx-int8"})
    plan = plan_reuse(CONFIG, target)
    assert (plan.text, plan.clip) == ("embed", "copy")


def test_no_clip_model_in_the_new_generation_drops_clip_vectors() -> None:
    target = CONFIG.model_copy(update={"clip_model": None, "clip_dimensions": None})
    assert plan_reuse(CONFIG, target).clip == "drop"


def test_a_chunking_change_is_a_rebuild_from_the_sources() -> None:
    target = CONFIG.model_copy(update={"chunking": "chunks/2:120:30:bert:context=48"})
    plan = plan_reuse(CONFIG, target)
    assert plan.rechunk
    assert not plan.copies_everything
    assert not plan_reuse(CONFIG, CONFIG.model_copy(update={"clip_model": None})).rechunk
    unknown = CONFIG.model_copy(update={"chunking": None})  # older generation: not recorded
    assert not plan_reuse(unknown, target).rechunk
    assert plan_reuse(unknown, target).text == "copy"


def test_the_gate_passes_within_tolerance_and_fails_beyond_it() -> None:
    live = {"recall@5": 0.80, "mrr@10": 0.60}
    assert decide_promotion(live, {"recall@5": 0.795, "mrr@10": 0.65}, tolerance=0.01).passed
    worse = decide_promotion(live, {"recall@5": 0.70, "mrr@10": 0.60}, tolerance=0.01)
    assert not worse.passed
    assert any("recall@5" in reason and "worse" in reason for reason in worse.reasons)
    assert decide_promotion(live, {"recall@5": 0.70, "mrr@10": 0.6}, tolerance=0.2).passed


def test_the_gate_fails_when_a_metric_was_not_measured() -> None:
    decision = decide_promotion({"recall@5": 1.0}, {"recall@5": 1.0, "mrr@10": 1.0})
    assert not decision.passed
    assert "mrr@10: not measured" in decision.reasons
    with pytest.raises(ValueError, match="tolerance"):
        decide_promotion({}, {}, tolerance=-0.1)


def test_repair_copies_missing_deletes_extra_and_refreshes_stale_chunks() -> None:
    live = {
        "a": {"doc_id": "d", "revision": 3, "title": "New", "text_vector": [1.0]},
        "b": {"doc_id": "d", "revision": 3, "title": "New"},
    }
    generation = {
        "b": {"doc_id": "d", "revision": 2, "title": "Old", "text_vector": [9.0]},
        "gone": {"doc_id": "d", "revision": 1},
    }
    plan = plan_repair(["a", "b"], generation, live)
    assert plan.copy == ("a",)
    assert plan.delete == ("gone",)
    assert plan.refresh == ("b",)
    assert plan.size == 3


def test_repair_ignores_vectors_models_and_index_time() -> None:
    live = {"a": {"revision": 3, "text_model": "m1", "indexed_at": "t1", "clip_vector": [1.0]}}
    generation = {"a": {"revision": 3, "text_model": "m2", "indexed_at": "t2"}}
    assert plan_repair(["a"], generation, live).empty
    assert plan_repair([], generation, live).delete == ("a",)  # a deleted document


def _generation(name: str, state: str, live: bool, promoted: datetime | None) -> Generation:
    meta = GenerationMeta(config=CONFIG, state=state, promoted=promoted)
    return Generation(name=name, meta=meta, live=live)


def test_rollback_returns_to_the_generation_promoted_most_recently() -> None:
    now = datetime.now(UTC)
    generations = [
        _generation("g1", "retired", False, None),
        _generation("g2", "retired", False, now - timedelta(days=1)),
        _generation("g3", "live", True, now),
        _generation("g4", "ready", False, None),
    ]
    assert rollback_target(generations).name == "g2"
    assert rollback_target(generations[:1] + generations[2:]).name == "g1"
    with pytest.raises(GenerationError, match="no retired generation"):
        rollback_target(generations[2:])


def test_an_encoder_name_gives_back_the_settings_that_load_it() -> None:
    base = EncoderSettings(threads=3)
    int8 = settings_for(MINILM + "@onnx-int8", "torch", base)
    assert (int8.text_model, int8.encoder_runtime, int8.threads) == (MINILM, "onnx-int8", 3)
    bf16 = settings_for(MINILM + "@bf16", "torch", base)
    assert (bf16.encoder_runtime, bf16.precision) == ("torch", "bf16")
    plain = settings_for(MINILM, "onnx", base)
    assert (plain.encoder_runtime, plain.precision) == ("onnx", "fp32")
    assert settings_for(MINILM, "onnx-int8", base).encoder_runtime == "torch"
    assert model_of(MINILM + "@onnx-int8") == MINILM
    assert runtime_of(MINILM + "@onnx-int8", "torch") == "onnx-int8"
    assert runtime_of(MINILM, "onnx") == "onnx"


class _CountingEncoder:
    """A stand-in with a name and a token counter: counts what it is asked to embed."""

    def __init__(self, name: str, dimensions: int = 2) -> None:
        self.name = name
        self.dimensions = dimensions
        self.tokenizer_name = "words"
        self.max_input_tokens = 256
        self.max_text_tokens = 77
        self.seen: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_texts(self, texts: list[str]) -> Any:
        import numpy as np

        self.seen.extend(texts)
        return np.ones((len(texts), self.dimensions), dtype=np.float32)

    def embed_images(self, images: list[Any]) -> Any:
        import numpy as np

        return np.full((len(images), self.dimensions), 2.0, dtype=np.float32)


def test_reembed_copies_what_the_same_model_made_and_embeds_the_rest() -> None:
    from indexer.encoders.base import Encoders
    from indexer.generations.reembed import (
        ReembedCounts,
        plan_for_source,
        reembed,
        text_model_input,
    )

    text, clip = _CountingEncoder("text-a"), _CountingEncoder("clip-b")
    encoders = Encoders(text=text, clip=clip)  # type: ignore[arg-type]
    chunks = [
        {
            "chunk_id": "t1",
            "modality": "text",
            "text": "Outer joins keep unmatched rows.",
            "title": "Joins",
            "section": "Tutorial > Outer joins",
            "text_model": "text-a",
            "text_vector": [0.5, 0.5],
            "clip_model": "clip-a",
            "clip_vector": [0.1, 0.1],
        },
        {
            "chunk_id": "i1",
            "modality": "image",
            "text": "a diagram",
            "context": "words around it",
            "ocr_text": "LABEL",
            "text_model": "text-a",
            "text_vector": [0.3, 0.3],
            "clip_model": "clip-a",
            "clip_vector": [0.2, 0.2],
        },
    ]
    plans = [plan_for_source(chunk, encoders) for chunk in chunks]
    assert [(p.text, p.clip) for p in plans] == [("copy", "embed"), ("copy", "embed")]
    counts = ReembedCounts()
    out = reembed(chunks, plans, encoders, {}, max_image_pixels=10**6, counts=counts)
    assert [chunk["text_vector"] for chunk in out] == [[0.5, 0.5], [0.3, 0.3]]
    assert out[0]["clip_vector"] == [1.0, 1.0]
    assert out[0]["clip_model"] == "clip-b"
    assert "clip_vector" not in out[1]  # its image could not be read: kept, counted
    assert "clip_model" not in out[1]
    assert (counts.text_reused, counts.clip_embedded, counts.images_unreadable) == (2, 1, 1)
    assert clip.seen == ["Outer joins keep unmatched rows."]
    assert chunks[0]["clip_vector"] == [0.1, 0.1]  # the inputs are not changed

    from indexer.chunks import ChunkingOptions

    options = ChunkingOptions(tokenizer=text)
    assert text_model_input(chunks[0], options) == (
        "Joins > Tutorial > Outer joins\n\nOuter joins keep unmatched rows."
    )
    assert text_model_input(chunks[1], options) == "a diagram — LABEL — words around it"
