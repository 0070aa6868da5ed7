"""Encoders per generation: each generation's vectors come from its own models, loaded
once per encoder name and shared by every generation that uses them.

An encoder's name says what makes its vectors: the model id or directory, plus a suffix
for a runtime whose vectors differ from torch fp32 (``@onnx-int8``, ``@bf16``; see
``indexer.encoders.runtime_choice``). A generation records those names, so the settings
that load an encoder again follow from its name (and, for a plain name, the generation's
runtime: torch fp32 and ONNX fp32 make the same vectors).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from indexer.encoders.base import Encoders, ImageTextEmbedder, TextEmbedder
from indexer.encoders.settings import EncoderSettings
from indexer.generations.meta import DEFAULT_RUNTIME, GenerationConfig

logger = logging.getLogger(__name__)

SUFFIXES: dict[str, tuple[str, str]] = {
    "@onnx-int8": ("onnx-int8", "fp32"),
    "@bf16": ("torch", "bf16"),
}
"""Name suffix → (``encoder_runtime``, ``precision``)."""
PLAIN_RUNTIMES = ("torch", "onnx")


class EncoderMismatch(RuntimeError):
    """An encoder loaded for a generation does not have the name the generation records."""


def settings_for(name: str, runtime: str, base: EncoderSettings) -> EncoderSettings:
    """``base`` set to load the encoder called ``name`` (its model in ``text_model`` and
    ``clip_model``: the caller uses the one it needs)."""
    model, chosen, precision = name, runtime if runtime in PLAIN_RUNTIMES else "torch", "fp32"
    for suffix, (suffix_runtime, suffix_precision) in SUFFIXES.items():
        if name.endswith(suffix):
            model, chosen, precision = name.removesuffix(suffix), suffix_runtime, suffix_precision
    return base.model_copy(
        update={
            "text_model": model,
            "clip_model": model,
            "encoder_runtime": chosen,
            "precision": precision,
            "clip_required": True,
        }
    )


def _load_text(settings: EncoderSettings) -> TextEmbedder:
    from indexer.encoders.loading import load_encoders

    return load_encoders(settings.model_copy(update={"clip_model": ""})).text


def _load_clip(settings: EncoderSettings) -> ImageTextEmbedder:
    from indexer.encoders.loading import _load_clip as load_clip
    from indexer.encoders.loading import runtime_for

    clip = load_clip(settings, runtime_for(settings))
    if clip is None:  # clip_required is set: loading raises rather than return None
        raise EncoderMismatch(f"CLIP model {settings.clip_model!r} did not load")
    return clip


TextLoader = Callable[[EncoderSettings], TextEmbedder]
ClipLoader = Callable[[EncoderSettings], ImageTextEmbedder]


class EncoderCache:
    """Encoders by generation configuration; a model is loaded once however many
    generations use it (thread-safe: loading happens in worker threads)."""

    def __init__(
        self,
        base: EncoderSettings,
        *,
        seed: Encoders | None = None,
        load_text: TextLoader = _load_text,
        load_clip: ClipLoader = _load_clip,
    ) -> None:
        """``seed``: encoders already loaded (the configured ones), reused when a
        generation names the same encoders."""
        self._base = base
        self._texts: dict[str, TextEmbedder] = {}
        self._clips: dict[str, ImageTextEmbedder] = {}
        self._ocr = seed.ocr if seed is not None else None
        self._lock = threading.Lock()
        self._load_text = load_text
        self._load_clip = load_clip
        if seed is not None:
            self.add(seed)

    def add(self, encoders: Encoders) -> None:
        """Keep already loaded encoders for the generations that name them."""
        with self._lock:
            self._texts.setdefault(encoders.text.name, encoders.text)
            if encoders.clip is not None:
                self._clips.setdefault(encoders.clip.name, encoders.clip)

    def encoders(self, config: GenerationConfig) -> Encoders:
        with self._lock:
            text = self._texts.get(config.text_model)
            if text is None:
                logger.info("loading_text_encoder name=%s", config.text_model)
                settings = settings_for(config.text_model, config.runtime, self._base)
                text = _checked(self._load_text(settings), config.text_model)
                self._texts[config.text_model] = text
            clip = None
            if config.clip_model is not None:
                clip = self._clips.get(config.clip_model)
                if clip is None:
                    logger.info("loading_clip_encoder name=%s", config.clip_model)
                    settings = settings_for(config.clip_model, config.runtime, self._base)
                    clip = _checked(self._load_clip(settings), config.clip_model)
                    self._clips[config.clip_model] = clip
            return Encoders(text=text, clip=clip, ocr=self._ocr)

    def loaded(self, config: GenerationConfig) -> bool:
        with self._lock:
            text = config.text_model in self._texts
            return text and (config.clip_model is None or config.clip_model in self._clips)


Encoder = TypeVar("Encoder", TextEmbedder, ImageTextEmbedder)


def _checked(encoder: Encoder, wanted: str) -> Encoder:
    if encoder.name != wanted:
        raise EncoderMismatch(
            f"loading {wanted!r} gave {encoder.name!r}: its vectors would not match the "
            "generation's"
        )
    return encoder


def configured_runtime(settings: EncoderSettings) -> str:
    """The runtime these settings load on this machine (``auto`` resolved)."""
    from indexer.encoders.loading import runtime_for

    return runtime_for(settings).runtime


def model_of(name: str) -> str:
    """The model id or directory in an encoder's name (its runtime suffix removed)."""
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def runtime_of(name: str, recorded: str) -> str:
    """The runtime an encoder name implies (``recorded``: the generation's, for a plain
    name)."""
    for suffix, (runtime, _) in SUFFIXES.items():
        if name.endswith(suffix):
            return runtime
    return recorded if recorded in PLAIN_RUNTIMES else DEFAULT_RUNTIME


__all__ = ["DEFAULT_RUNTIME", "EncoderCache", "EncoderMismatch", "configured_runtime"]
