"""Building the configured encoders (the only place that decides which models run)."""

from __future__ import annotations

import logging

from indexer.encoders.base import Encoders, ImageTextEmbedder
from indexer.encoders.settings import EncoderSettings

logger = logging.getLogger(__name__)


class EncoderUnavailable(RuntimeError):
    """A configured model could not be loaded."""


def load_encoders(settings: EncoderSettings, *, with_ocr: bool = False) -> Encoders:
    """The text model, the CLIP model (or ``None``) and, for the worker, the OCR engine."""
    from indexer.encoders.sentence_transformer import SentenceTransformerEmbedder

    try:
        text = SentenceTransformerEmbedder(settings.text_model, settings)
    except Exception as error:
        raise EncoderUnavailable(
            f"text model {settings.text_model!r} could not be loaded: {error}"
        ) from error
    ocr = None
    if with_ocr:
        from indexer.ocr import load_recogniser

        ocr = load_recogniser(settings.ocr)
    return Encoders(text=text, clip=_load_clip(settings), ocr=ocr)


def _load_clip(settings: EncoderSettings) -> ImageTextEmbedder | None:
    if not settings.clip_model:
        logger.warning("clip_model is empty: images are searchable only through their text")
        return None
    from indexer.encoders.clip import ClipEmbedder

    try:
        return ClipEmbedder(settings.clip_model, settings)
    except Exception as error:
        message = (
            f"CLIP model {settings.clip_model!r} could not be loaded ({error}); set "
            "MMRAG_CLIP_MODEL to a local directory with CLIP/SigLIP weights"
        )
        if settings.clip_required:
            raise EncoderUnavailable(message) from error
        logger.error("%s — running WITHOUT image vectors (MMRAG_CLIP_REQUIRED=false)", message)
        return None
