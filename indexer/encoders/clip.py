"""A CLIP-style dual encoder with transformers (CLIP, SigLIP: any model with
``get_text_features`` and ``get_image_features``), from a hub id or a directory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from indexer.encoders.runtime import (
    choose_device,
    configure_threads,
    features,
    inference,
    use_bf16,
)
from indexer.encoders.settings import EncoderSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from PIL import Image

logger = logging.getLogger(__name__)


class ClipEmbedder:
    """Texts longer than the text tower's window (77 tokens for CLIP) are truncated to
    their leading window: a text chunk's CLIP vector describes its beginning."""

    def __init__(self, model: str, settings: EncoderSettings) -> None:
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        configure_threads(settings)
        self._device = choose_device(settings.device)
        self._bf16 = use_bf16(settings, self._device)
        self._text_batch = settings.text_batch_size
        self._image_batch = settings.image_batch_size
        self._model = AutoModel.from_pretrained(model).to(self._device).eval()
        self._tokenizer = AutoTokenizer.from_pretrained(model)
        self._processor = AutoImageProcessor.from_pretrained(model)  # type: ignore[no-untyped-call]
        config = self._model.config
        self._dimensions = int(
            getattr(config, "projection_dim", 0) or config.text_config.hidden_size
        )
        self._max_tokens = int(config.text_config.max_position_embeddings)
        self._name = model + ("@bf16" if self._bf16 else "")
        logger.info(
            "loaded clip_model=%s dims=%d text_window=%d device=%s bf16=%s",
            model,
            self._dimensions,
            self._max_tokens,
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
    def max_text_tokens(self) -> int:
        return self._max_tokens

    def embed_texts(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = []
        for start in range(0, len(texts), self._text_batch):
            batch = list(texts[start : start + self._text_batch])
            tokens = self._tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self._max_tokens,
                return_tensors="pt",
            ).to(self._device)
            with inference(self._device, self._bf16):
                output = self._model.get_text_features(**tokens)
            rows.append(_normalised(features(output)))
        return _stack(rows, self._dimensions)

    def embed_images(self, images: Sequence[Image.Image]) -> NDArray[np.float32]:
        rows = []
        for start in range(0, len(images), self._image_batch):
            batch = list(images[start : start + self._image_batch])
            pixels = self._processor(images=batch, return_tensors="pt").to(self._device)
            with inference(self._device, self._bf16):
                output = self._model.get_image_features(**pixels)
            rows.append(_normalised(features(output)))
        return _stack(rows, self._dimensions)


def _normalised(tensor: torch.Tensor) -> NDArray[np.float32]:
    vectors = torch.nn.functional.normalize(tensor.float(), dim=-1)
    return np.asarray(vectors.cpu().numpy(), dtype=np.float32)


def _stack(rows: list[NDArray[np.float32]], dimensions: int) -> NDArray[np.float32]:
    if not rows:
        return np.zeros((0, dimensions), dtype=np.float32)
    return np.concatenate(rows, axis=0)
