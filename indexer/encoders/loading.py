"""Building the configured encoders (the only place that decides which models run)."""

from __future__ import annotations

import logging

from indexer.encoders.base import Encoders, ImageTextEmbedder, TextEmbedder
from indexer.encoders.runtime_choice import RuntimeChoice, choose_runtime
from indexer.encoders.settings import EncoderSettings

logger = logging.getLogger(__name__)


class EncoderUnavailable(RuntimeError):
    """A configured model could not be loaded."""


def runtime_for(settings: EncoderSettings) -> RuntimeChoice:
    """The runtime these settings give on this machine (CUDA decides ``auto``)."""
    import torch

    return choose_runtime(
        settings.encoder_runtime,
        settings.precision,
        settings.device,
        cuda_available=torch.cuda.is_available(),
    )


def _load_text(settings: EncoderSettings, choice: RuntimeChoice) -> TextEmbedder:
    if choice.runtime == "torch":
        from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings.text_model, settings)
    from indexer.encoders.onnx_text import OnnxTextEmbedder

    return OnnxTextEmbedder(
        settings.text_model,
        choice.runtime,
        cache_dir=settings.encoder_cache_dir,
        threads=settings.threads,
        batch_size=settings.text_batch_size,
        name_suffix=choice.name_suffix,
    )


def load_encoders(settings: EncoderSettings, *, with_ocr: bool = False) -> Encoders:
    """The text model, the CLIP model (or ``None``) and, for the worker, the OCR engine,
    on the runtime the settings choose (``MMRAG_ENCODER_RUNTIME``)."""
    choice = runtime_for(settings)
    try:
        text = _load_text(settings, choice)
    except Exception as error:
        raise EncoderUnavailable(
            f"text model {settings.text_model!r} could not be loaded: {error}"
        ) from error
    ocr = None
    if with_ocr:
        from indexer.ocr import load_recogniser

        ocr = load_recogniser(settings.ocr)
    return Encoders(text=text, clip=_load_clip(settings, choice), ocr=ocr)


def _load_clip(settings: EncoderSettings, choice: RuntimeChoice) -> ImageTextEmbedder | None:
    if not settings.clip_model:
        logger.warning("clip_model is empty: images are searchable only through their text")
        return None
    try:
        if choice.runtime == "torch":
            from indexer.encoders.clip import ClipEmbedder

            return ClipEmbedder(settings.clip_model, settings)
        from indexer.encoders.onnx_clip import OnnxClipEmbedder

        return OnnxClipEmbedder(settings.clip_model, choice, settings)
    except Exception as error:
        message = (
            f"CLIP model {settings.clip_model!r} could not be loaded ({error}); set "
            "MMRAG_CLIP_MODEL to a local directory with CLIP/SigLIP weights"
        )
        if settings.clip_required:
            raise EncoderUnavailable(message) from error
        logger.error("%s — running WITHOUT image vectors (MMRAG_CLIP_REQUIRED=false)", message)
        return None
