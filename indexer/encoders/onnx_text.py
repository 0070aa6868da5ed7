"""Text embeddings with ONNX Runtime: the model's transformer exported (fp32 or int8), its
own tokenizer, and the pooling and normalisation its sentence-transformers files ask for.

Same window, same token counting and same ``tokenizer_name`` as the torch runtime, so
chunking (and the chunking version) does not depend on the runtime.
"""

from __future__ import annotations

import copy
import importlib.metadata
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.encoders.model_files import local_model_dir, token_counter
from indexer.encoders.onnx_cache import ensure_built, export_dir_name, model_fingerprint
from indexer.encoders.pooling import normalised, pool, read_layout
from indexer.encoders.runtime_choice import Runtime

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)


def tool_version() -> str:
    """What else decides an export's bytes (part of its cache key)."""
    return "ort{}-torch{}".format(
        importlib.metadata.version("onnxruntime"), importlib.metadata.version("torch")
    )


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def open_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or usable_cores()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no busy-waiting between ops: the worker, the API, Elasticsearch and Kafka share a
    # few cores, and spinning threads starve them (and each other)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxTextEmbedder:
    def __init__(
        self,
        model: str,
        runtime: Runtime,
        *,
        cache_dir: Path,
        threads: int = 0,
        batch_size: int = 32,
        name_suffix: str = "",
    ) -> None:
        from transformers import AutoTokenizer

        from indexer.encoders.onnx_export import TEXT_FILE, export_text_transformer

        model_dir = local_model_dir(model)
        layout = read_layout(model_dir)
        self._layout = layout
        self._tokenizer = AutoTokenizer.from_pretrained(str(layout.transformer_dir))
        names = list(self._tokenizer.model_input_names)
        target = cache_dir / export_dir_name(
            model, runtime, model_fingerprint(model_dir), tool_version()
        )
        quantise = runtime == "onnx-int8"
        export = ensure_built(
            target,
            lambda out: export_text_transformer(
                layout.transformer_dir, names, out, quantise=quantise
            ),
        )
        self._session = open_session(export / TEXT_FILE, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._batch_size = batch_size
        self._max_tokens = int(layout.max_seq_length or min(self._tokenizer.model_max_length, 512))
        self._dimensions = int(self._session.get_outputs()[0].shape[-1])
        self._name = model + name_suffix
        self._model_id = model
        self._tokenize_lock = threading.Lock()
        counter = copy.deepcopy(self._tokenizer)  # a Rust tokenizer is not for two threads
        self._special_tokens = len(counter("")["input_ids"])
        self._count = token_counter(counter)
        self._counter_lock = threading.Lock()
        logger.info(
            "loaded text_model=%s runtime=%s export=%s dims=%d pooling=%s",
            model,
            runtime,
            export,
            self._dimensions,
            layout.pooling,
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
        return self._max_tokens

    @property
    def max_input_tokens(self) -> int:
        return self._max_tokens - self._special_tokens

    @property
    def tokenizer_name(self) -> str:
        return f"{self._model_id}@{self._max_tokens}"

    def count_tokens(self, text: str) -> int:
        with self._counter_lock:
            return self._count(text)

    def embed_texts(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dimensions), dtype=np.float32)
        prepared = [text.lower() if self._layout.lowercase else text for text in texts]
        # longest first, in batches of similar length: less padding (as sentence-transformers)
        order = sorted(range(len(prepared)), key=lambda i: -len(prepared[i]))
        result = np.empty((len(prepared), self._dimensions), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            indices = order[start : start + self._batch_size]
            result[indices] = self._embed_batch([prepared[i] for i in indices])
        return result

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        with self._tokenize_lock:
            tokens = self._tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self._max_tokens,
                return_tensors="np",
            )
        feeds = {name: np.asarray(tokens[name], dtype=np.int64) for name in self._inputs}
        (embeddings,) = self._session.run(None, feeds)
        mask = np.asarray(tokens["attention_mask"], dtype=np.int64)
        # always unit length: the TextEmbedder contract (the torch runtime asks for it too)
        return normalised(
            pool(np.asarray(embeddings, dtype=np.float32), mask, self._layout.pooling)
        )
