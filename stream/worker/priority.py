"""Live changes first at the encoders: a priority gate over the CPU-bound models.

Encoding runs in worker threads (``asyncio.to_thread``) and is what a bulk load spends
its time on. Both lanes' pipelines share one set of models through ``PriorityGate``:
each encode call is cut into sub-batches (``sub_batch`` texts or images, well under a
second of work), and each sub-batch waits for the gate. The gate goes to the most urgent
waiter (lowest priority number) first, so a live change waits for at most one backfill
sub-batch, however large the backfill batch that is being encoded.

Sub-batches are cut after sorting the texts by length (and put back in order after), so
that the padding inside a sub-batch stays small.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from indexer.encoders.base import Encoders, ImageTextEmbedder, TextEmbedder

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from PIL import Image

    from indexer.ocr import TextRecogniser

    Vectors = NDArray[np.float32]

Item = TypeVar("Item")


class Priority(IntEnum):
    """Lower goes first."""

    LIVE = 0
    BACKFILL = 1


class PriorityGate:
    """One holder at a time; when it lets go, the most urgent waiter goes next (first
    come, first served among equals is not promised)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._held = False
        self._waiting: Counter[int] = Counter()

    @contextmanager
    def hold(self, priority: int) -> Iterator[None]:
        with self._condition:
            self._waiting[priority] += 1
            try:
                self._condition.wait_for(lambda: self._may_go(priority))
            finally:
                self._waiting[priority] -= 1
            self._held = True
        try:
            yield
        finally:
            with self._condition:
                self._held = False
                self._condition.notify_all()

    def waiting(self, priority: int) -> int:
        with self._condition:
            return self._waiting[priority]

    def _may_go(self, priority: int) -> bool:
        if self._held:
            return False
        return not any(count for other, count in self._waiting.items() if other < priority)


def sub_batches(sizes: Sequence[int], limit: int) -> list[list[int]]:
    """Indexes of the items, shortest first, cut into runs of at most ``limit``."""
    if limit <= 0:
        raise ValueError(f"sub-batch size must be positive, not {limit}")
    order = sorted(range(len(sizes)), key=lambda index: sizes[index])
    return [order[start : start + limit] for start in range(0, len(order), limit)]


def embed_in_turns(
    items: Sequence[Item],
    sizes: Sequence[int],
    embed: Callable[[list[Item]], Vectors],
    gate: PriorityGate,
    priority: int,
    limit: int,
) -> Vectors:
    """``embed(items)`` done a sub-batch at a time, each holding the gate; rows in the
    order of ``items``."""
    runs = sub_batches(sizes, limit)
    if not runs:
        return embed([])
    parts: list[Vectors] = []
    for run in runs:
        with gate.hold(priority):
            parts.append(embed([items[index] for index in run]))
    stacked = np.concatenate(parts)
    rows = np.empty_like(stacked)
    rows[[index for run in runs for index in run]] = stacked
    return rows


class GatedTextEmbedder:
    def __init__(self, inner: TextEmbedder, gate: PriorityGate, priority: int, limit: int):
        self._inner = inner
        self._gate = gate
        self._priority = priority
        self._limit = limit

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    @property
    def tokenizer_name(self) -> str:
        return self._inner.tokenizer_name

    @property
    def max_input_tokens(self) -> int:
        return self._inner.max_input_tokens

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        sizes = [len(text) for text in texts]
        return embed_in_turns(
            texts, sizes, self._inner.embed_texts, self._gate, self._priority, self._limit
        )


class GatedImageTextEmbedder:
    def __init__(
        self, inner: ImageTextEmbedder, gate: PriorityGate, priority: int, limit: int
    ) -> None:
        self._inner = inner
        self._gate = gate
        self._priority = priority
        self._limit = limit

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    @property
    def max_text_tokens(self) -> int:
        return self._inner.max_text_tokens

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        sizes = [len(text) for text in texts]
        return embed_in_turns(
            texts, sizes, self._inner.embed_texts, self._gate, self._priority, self._limit
        )

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        sizes = [0] * len(images)  # one preprocessed size: keep their order
        return embed_in_turns(
            images, sizes, self._inner.embed_images, self._gate, self._priority, self._limit
        )


class GatedTextRecogniser:
    def __init__(self, inner: TextRecogniser, gate: PriorityGate, priority: int) -> None:
        self._inner = inner
        self._gate = gate
        self._priority = priority

    def recognise(self, image: Image.Image) -> str:
        with self._gate.hold(self._priority):
            return self._inner.recognise(image)


def gated(encoders: Encoders, gate: PriorityGate, priority: int, limit: int) -> Encoders:
    """``encoders`` whose every model call takes turns at ``gate`` with ``priority``."""
    return Encoders(
        text=GatedTextEmbedder(encoders.text, gate, priority, limit),
        clip=(
            GatedImageTextEmbedder(encoders.clip, gate, priority, limit)
            if encoders.clip is not None
            else None
        ),
        ocr=(
            GatedTextRecogniser(encoders.ocr, gate, priority) if encoders.ocr is not None else None
        ),
    )
