"""Text embeddings with sentence-transformers (default: all-MiniLM-L6-v2, 384-d)."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from indexer.encoders.model_files import resolve_model_location, token_counter
from indexer.encoders.runtime import choose_device, configure_threads, inference, use_bf16
from indexer.encoders.settings import EncoderSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    def __init__(self, model: str, settings: EncoderSettings) -> None:
        from sentence_transformers import SentenceTransformer

        configure_threads(settings)
        self._device = choose_device(settings.device)
        self._bf16 = use_bf16(settings, self._device)
        self._batch_size = settings.text_batch_size
        location = resolve_model_location(model)
        self._model = SentenceTransformer(location, device=str(self._device))
        self._model.eval()
        measure = getattr(self._model, "get_embedding_dimension", None)
        dimensions = (measure or self._model.get_sentence_embedding_dimension)()
        if dimensions is None:
            raise ValueError(f"{model} does not say its embedding dimension")
        self._dimensions = int(dimensions)
        self._name = model + ("@bf16" if self._bf16 else "")
        self._model_id = model
        # counting uses its own copy: encode() reconfigures the shared tokenizer's
        # truncation and padding, and a Rust tokenizer in use by two threads raises
        counter = copy.deepcopy(self._model.tokenizer)
        self._special_tokens = len(counter("")["input_ids"])
        self._count = token_counter(counter)
        self._counter_lock = threading.Lock()
        logger.info(
            "loaded text_model=%s from=%s dims=%d device=%s bf16=%s",
            model,
            location,
            self._dimensions,
            self._device,
            self._bf16,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def max_tokens(self) -> int:
        """The model's window, special tokens included."""
        return int(self._model.max_seq_length or 512)

    @property
    def max_input_tokens(self) -> int:
        return self.max_tokens - self._special_tokens

    @property
    def tokenizer_name(self) -> str:
        return f"{self._model_id}@{self.max_tokens}"

    def count_tokens(self, text: str) -> int:
        with self._counter_lock:
            return self._count(text)

    def embed_texts(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dimensions), dtype=np.float32)
        with inference(self._device, self._bf16):
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
