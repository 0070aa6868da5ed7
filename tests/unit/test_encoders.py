"""The real encoder code, offline: MiniLM from its package, CLIP from a tiny random model.

The tiny CLIP proves loading, batching, shapes and normalisation, not quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.encoders.base import TextEmbedder
from indexer.encoders.clip import ClipEmbedder
from indexer.encoders.loading import EncoderUnavailable, load_encoders
from indexer.encoders.onnx_clip import OnnxClipEmbedder
from indexer.encoders.onnx_text import OnnxTextEmbedder
from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder
from indexer.encoders.settings import EncoderSettings
from indexer.encoders.tiny_clip import TINY_CLIP_DIMENSIONS


@pytest.fixture(scope="module")
def text_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        "sentence-transformers/all-MiniLM-L6-v2", EncoderSettings(encoder_runtime="torch")
    )


def test_minilm_loads_offline_and_ranks_related_text_higher(
    text_embedder: SentenceTransformerEmbedder,
) -> None:
    vectors = text_embedder.embed_texts(
        [
            "How do I restart the Kafka broker?",
            "Restarting the Kafka broker: stop the process, then start it again.",
            "Banana bread needs ripe bananas and flour.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > unrelated + 0.3
    assert text_embedder.embed_texts([]).shape == (0, 384)


def test_clip_path_with_tiny_random_clip(tiny_random_clip: Path) -> None:
    clip = ClipEmbedder(
        str(tiny_random_clip), EncoderSettings(encoder_runtime="torch", image_batch_size=2)
    )
    assert clip.dimensions == TINY_CLIP_DIMENSIONS
    assert clip.max_text_tokens == 77
    images = [Image.new("RGB", (120, 90), color) for color in ("red", "green", "blue")]
    image_vectors = clip.embed_images(images)  # two batches: 2 + 1
    assert image_vectors.shape == (3, TINY_CLIP_DIMENSIONS)
    assert np.allclose(np.linalg.norm(image_vectors, axis=1), 1.0, atol=1e-5)
    long_text = "word " * 500  # truncated to the 77-token window, not an error
    text_vectors = clip.embed_texts(["a red square", long_text])
    assert text_vectors.shape == (2, TINY_CLIP_DIMENSIONS)
    again = clip.embed_images(images[:1])
    assert np.allclose(again[0], image_vectors[0], atol=1e-5)  # deterministic


def test_unloadable_clip_is_an_error_only_when_required(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    encoders = load_encoders(EncoderSettings(clip_model=missing, clip_required=False))
    assert encoders.clip is None
    with pytest.raises(EncoderUnavailable, match="could not be loaded"):
        load_encoders(EncoderSettings(clip_model=missing, clip_required=True))


# --- ONNX Runtime (exports cached once per session in a temporary directory)

REAL_TEXT = [  # the project's own prose: real text, different lengths
    paragraph.strip()
    for page in sorted((Path(__file__).parents[2] / "docs").glob("*.md"))
    for paragraph in page.read_text(encoding="utf-8").split("\n\n")
    if len(paragraph.split()) >= 12
][:48]


@pytest.fixture(scope="session")
def export_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("encoder-exports")


@pytest.fixture(scope="module")
def onnx_text_embedders(export_cache: Path) -> dict[str, TextEmbedder]:
    return {
        runtime: load_encoders(
            EncoderSettings(encoder_runtime=runtime, clip_model="", encoder_cache_dir=export_cache)
        ).text
        for runtime in ("onnx", "onnx-int8")
    }


def test_onnx_minilm_agrees_with_torch_on_real_text(
    text_embedder: SentenceTransformerEmbedder, onnx_text_embedders: dict[str, TextEmbedder]
) -> None:
    assert len(REAL_TEXT) >= 20
    reference = text_embedder.embed_texts(REAL_TEXT)
    fp32, int8 = onnx_text_embedders["onnx"], onnx_text_embedders["onnx-int8"]
    assert isinstance(fp32, OnnxTextEmbedder)
    same = np.sum(fp32.embed_texts(REAL_TEXT) * reference, axis=1)
    assert same.min() >= 0.9999  # fp32 ONNX is the same function: same name, same space
    assert fp32.name == text_embedder.name
    vectors = int8.embed_texts(REAL_TEXT)
    assert vectors.shape == reference.shape
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * reference, axis=1)
    assert cosines.min() >= 0.98
    assert cosines.mean() >= 0.99
    assert int8.name == "sentence-transformers/all-MiniLM-L6-v2@onnx-int8"
    # int8 activations are scaled per batch, so a text's vector depends a little on its
    # batch companions; alone it stays as close to fp32 as in a batch
    alone = np.stack([int8.embed_texts([text])[0] for text in REAL_TEXT[:8]])
    assert np.sum(alone * reference[:8], axis=1).min() >= 0.98
    assert np.sum(fp32.embed_texts(REAL_TEXT[3:4])[0] * reference[3]) >= 0.9999
    assert int8.embed_texts([]).shape == (0, 384)


def test_onnx_minilm_chunks_like_torch(
    text_embedder: SentenceTransformerEmbedder, onnx_text_embedders: dict[str, TextEmbedder]
) -> None:
    int8 = onnx_text_embedders["onnx-int8"]
    assert int8.tokenizer_name == text_embedder.tokenizer_name
    assert int8.max_input_tokens == text_embedder.max_input_tokens == 254
    assert [int8.count_tokens(t) for t in REAL_TEXT] == [
        text_embedder.count_tokens(t) for t in REAL_TEXT
    ]
    long_text = " ".join(REAL_TEXT)  # past the window: truncated, not an error
    assert int8.embed_texts([long_text]).shape == (1, 384)


def test_a_second_load_reuses_the_cached_export(
    export_cache: Path, onnx_text_embedders: dict[str, TextEmbedder]
) -> None:
    exports = sorted(p.name for p in export_cache.iterdir() if not p.name.startswith("."))
    assert len(exports) == 2
    assert all("all-MiniLM-L6-v2-onnx" in name for name in exports)
    again = load_encoders(
        EncoderSettings(encoder_runtime="onnx-int8", clip_model="", encoder_cache_dir=export_cache)
    ).text
    assert sorted(p.name for p in export_cache.iterdir() if not p.name.startswith(".")) == exports
    assert np.allclose(
        again.embed_texts(REAL_TEXT[:4]),
        onnx_text_embedders["onnx-int8"].embed_texts(REAL_TEXT[:4]),
        atol=1e-6,
    )


def test_tiny_clip_towers_on_onnx_agree_with_torch(
    tiny_random_clip: Path, export_cache: Path
) -> None:
    images = [Image.new("RGB", (120, 90), color) for color in ("red", "green", "blue")]
    texts = ["a red square", "word " * 500, "green"]
    torch_clip = ClipEmbedder(str(tiny_random_clip), EncoderSettings(image_batch_size=2))
    reference_images, reference_texts = (
        torch_clip.embed_images(images),
        torch_clip.embed_texts(texts),
    )
    for runtime, bound in (("onnx", 0.9999), ("onnx-int8", 0.95)):
        settings = EncoderSettings(
            encoder_runtime=runtime,
            clip_model=str(tiny_random_clip),
            encoder_cache_dir=export_cache,
            image_batch_size=2,
            text_batch_size=2,
        )
        clip = load_encoders(settings).clip
        assert isinstance(clip, OnnxClipEmbedder)
        assert (clip.dimensions, clip.max_text_tokens) == (TINY_CLIP_DIMENSIONS, 77)
        image_vectors = clip.embed_images(images)  # two batches: 2 + 1
        text_vectors = clip.embed_texts(texts)  # the long one is truncated to 77 tokens
        assert image_vectors.shape == text_vectors.shape == (3, TINY_CLIP_DIMENSIONS)
        for vectors, reference in (
            (image_vectors, reference_images),
            (text_vectors, reference_texts),
        ):
            assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
            assert np.sum(vectors * reference, axis=1).min() >= bound, runtime
        assert clip.embed_images([]).shape == (0, TINY_CLIP_DIMENSIONS)
        assert clip.name == str(tiny_random_clip) + ("@onnx-int8" if runtime == "onnx-int8" else "")
