"""A CLIP-style dual encoder on ONNX Runtime: both towers exported (fp32 or int8), the
model's own tokenizer and image processor in front, L2 normalisation behind."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from indexer.encoders.model_files import local_model_dir
from indexer.encoders.onnx_cache import ensure_built, export_dir_name, model_fingerprint
from indexer.encoders.onnx_text import open_session, tool_version
from indexer.encoders.pooling import normalised
from indexer.encoders.runtime_choice import RuntimeChoice
from indexer.encoders.settings import EncoderSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from PIL import Image

logger = logging.getLogger(__name__)


class OnnxClipEmbedder:
    """Texts longer than the text tower's window are truncated to their leading window."""

    def __init__(self, model: str, choice: RuntimeChoice, settings: EncoderSettings) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer

        from indexer.encoders.onnx_export import TEXT_FILE, VISION_FILE, export_clip_towers

        model_dir = local_model_dir(model)
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self._processor = AutoImageProcessor.from_pretrained(str(model_dir))  # type: ignore[no-untyped-call]
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self._max_tokens = int(config["text_config"]["max_position_embeddings"])
        names = [n for n in self._tokenizer.model_input_names if n != "token_type_ids"]
        target = settings.encoder_cache_dir / export_dir_name(
            model, choice.runtime, model_fingerprint(model_dir), tool_version()
        )
        quantise = choice.runtime == "onnx-int8"
        export = ensure_built(
            target, lambda out: export_clip_towers(model_dir, names, out, quantise=quantise)
        )
        self._text = open_session(export / TEXT_FILE, settings.threads)
        self._vision = open_session(export / VISION_FILE, settings.threads)
        self._text_inputs = [i.name for i in self._text.get_inputs()]
        self._dimensions = int(self._text.get_outputs()[0].shape[-1])
        self._text_batch = settings.text_batch_size
        self._image_batch = settings.image_batch_size
        self._name = model + choice.name_suffix
        logger.info(
            "loaded clip_model=%s runtime=%s export=%s dims=%d text_window=%d",
            model,
            choice.runtime,
            export,
            self._dimensions,
            self._max_tokens,
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
        rows = [np.zeros((0, self._dimensions), dtype=np.float32)]
        for start in range(0, len(texts), self._text_batch):
            tokens = self._tokenizer(
                list(texts[start : start + self._text_batch]),
                padding=True,
                truncation=True,
                max_length=self._max_tokens,
                return_tensors="np",
            )
            feeds = {name: np.asarray(tokens[name], dtype=np.int64) for name in self._text_inputs}
            rows.append(normalised(np.asarray(self._text.run(None, feeds)[0], dtype=np.float32)))
        return np.concatenate(rows, axis=0)

    def embed_images(self, images: Sequence[Image.Image]) -> NDArray[np.float32]:
        rows = [np.zeros((0, self._dimensions), dtype=np.float32)]
        for start in range(0, len(images), self._image_batch):
            batch = list(images[start : start + self._image_batch])
            pixels = self._processor(images=batch, return_tensors="np")["pixel_values"]
            feeds = {"pixel_values": np.asarray(pixels, dtype=np.float32)}
            rows.append(normalised(np.asarray(self._vision.run(None, feeds)[0], dtype=np.float32)))
        return np.concatenate(rows, axis=0)
