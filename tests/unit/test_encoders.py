"""The real encoder code, offline: MiniLM from its package, CLIP from a tiny random model.

The tiny CLIP proves loading, batching, shapes and normalisation, not quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.encoders.clip import ClipEmbedder
from indexer.encoders.loading import EncoderUnavailable, load_encoders
from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder
from indexer.encoders.settings import EncoderSettings
from indexer.encoders.tiny_clip import TINY_CLIP_DIMENSIONS


@pytest.fixture(scope="module")
def text_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2", EncoderSettings())


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
    clip = ClipEmbedder(str(tiny_random_clip), EncoderSettings(image_batch_size=2))
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
