"""A sentence-transformers model's layout (``modules.json``) and its pooling, in numpy.

The ONNX runtime runs only the transformer; what follows it must be what
sentence-transformers does for that model, read from the model's own files: the pooling
mode from the Pooling module's ``config.json``, normalisation from a Normalize module.
Layouts with other modules (Dense projections, …) are refused with a clear error: they
run on the torch runtime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

PoolingMode = Literal["mean", "cls", "max", "mean_sqrt_len", "lasttoken"]
_FLAG_MODES: dict[str, PoolingMode] = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
    "pooling_mode_lasttoken": "lasttoken",
}
_UNSUPPORTED_FLAGS = ("pooling_mode_weightedmean_tokens",)


class UnsupportedModelLayout(ValueError):
    """The model needs more than transformer + pooling (+ normalisation)."""


@dataclass(frozen=True)
class SentenceModelLayout:
    transformer_dir: Path
    pooling: PoolingMode
    normalise: bool
    max_seq_length: int | None
    """From ``sentence_bert_config.json``; ``None``: the tokenizer's own limit."""
    lowercase: bool = False
    """``do_lower_case`` there: texts are lower-cased before tokenizing."""


def pooling_mode(config: dict[str, Any]) -> PoolingMode:
    """The one pooling mode a Pooling ``config.json`` asks for."""
    named = config.get("pooling_mode")
    if isinstance(named, str):
        aliases: dict[str, PoolingMode] = {"mean_tokens": "mean", "cls_token": "cls"}
        mode = aliases.get(named, named)
        if mode in _FLAG_MODES.values():
            return mode  # type: ignore[return-value]
        raise UnsupportedModelLayout(f"pooling mode {named!r} is not supported by ONNX here")
    if any(config.get(flag) for flag in _UNSUPPORTED_FLAGS):
        raise UnsupportedModelLayout("weighted-mean pooling is not supported by ONNX here")
    modes = [mode for flag, mode in _FLAG_MODES.items() if config.get(flag)]
    if len(modes) != 1:
        raise UnsupportedModelLayout(f"expected exactly one pooling mode, the config has {modes}")
    return modes[0]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UnsupportedModelLayout(f"cannot read {path}: {error}") from error


def read_layout(model_dir: Path) -> SentenceModelLayout:
    """The layout of a sentence-transformers model directory."""
    modules = _read_json(model_dir / "modules.json")
    kinds = [str(module["type"]).rsplit(".", 1)[-1] for module in modules]
    if not kinds or kinds[0] != "Transformer" or kinds[1:2] != ["Pooling"]:
        raise UnsupportedModelLayout(f"{model_dir}: modules {kinds} are not Transformer, Pooling")
    if kinds[2:] not in ([], ["Normalize"]):
        raise UnsupportedModelLayout(f"{model_dir}: modules {kinds[2:]} after pooling")
    transformer_dir = model_dir / str(modules[0].get("path", ""))
    pooling = pooling_mode(_read_json(model_dir / str(modules[1]["path"]) / "config.json"))
    st_config = transformer_dir / "sentence_bert_config.json"
    st_settings = _read_json(st_config) if st_config.is_file() else {}
    max_length = st_settings.get("max_seq_length")
    return SentenceModelLayout(
        transformer_dir=transformer_dir,
        pooling=pooling,
        normalise=kinds[2:] == ["Normalize"],
        max_seq_length=int(max_length) if max_length else None,
        lowercase=bool(st_settings.get("do_lower_case", False)),
    )


def pool(
    token_embeddings: NDArray[np.float32], attention_mask: NDArray[np.int64], mode: PoolingMode
) -> NDArray[np.float32]:
    """(batch, tokens, dims) → (batch, dims), as sentence-transformers' Pooling does."""
    mask = attention_mask.astype(np.float32)[:, :, None]
    if mode == "cls":
        return token_embeddings[:, 0]
    if mode == "max":
        masked = np.where(mask > 0, token_embeddings, np.float32(-1e9))
        return np.asarray(masked.max(axis=1), dtype=np.float32)
    if mode == "lasttoken":  # the last unmasked token, for right or left padding
        last = attention_mask.shape[1] - 1 - np.argmax(attention_mask[:, ::-1], axis=1)
        return np.asarray(token_embeddings[np.arange(len(last)), last], dtype=np.float32)
    summed = (token_embeddings * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    divisor = np.sqrt(counts) if mode == "mean_sqrt_len" else counts
    return np.asarray(summed / divisor, dtype=np.float32)


def normalised(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)
