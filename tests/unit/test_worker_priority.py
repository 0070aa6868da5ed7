"""The encoders' priority gate: live sub-batches go before waiting backfill ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from PIL import Image

from indexer.encoders.base import Encoders
from stream.worker.priority import (
    GatedTextEmbedder,
    Priority,
    PriorityGate,
    embed_in_turns,
    gated,
    sub_batches,
)


def _wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.001)


def test_sub_batches_are_shortest_first_and_bounded() -> None:
    assert sub_batches([5, 1, 4, 2, 3], limit=2) == [[1, 3], [4, 2], [0]]
    assert sub_batches([], limit=4) == []
    with pytest.raises(ValueError, match="positive"):
        sub_batches([1], limit=0)


def test_embedding_in_turns_keeps_the_callers_order() -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.array([[float(len(text))] for text in texts], dtype=np.float32)

    texts = ["aaaa", "a", "aaa", "aaaaa", "aa"]
    rows = embed_in_turns(texts, [len(t) for t in texts], embed, PriorityGate(), 0, limit=2)
    assert rows[:, 0].tolist() == [4.0, 1.0, 3.0, 5.0, 2.0]
    assert calls == [["a", "aa"], ["aaa", "aaaa"], ["aaaaa"]]


def test_a_live_waiter_goes_before_a_backfill_waiter_that_came_first() -> None:
    gate = PriorityGate()
    order: list[str] = []

    def take(name: str, priority: Priority) -> None:
        with gate.hold(priority):
            order.append(name)

    with gate.hold(Priority.BACKFILL):  # a backfill sub-batch is being encoded
        backfill = threading.Thread(target=take, args=("backfill", Priority.BACKFILL))
        backfill.start()
        _wait_until(lambda: gate.waiting(Priority.BACKFILL) == 1)
        live = threading.Thread(target=take, args=("live", Priority.LIVE))
        live.start()
        _wait_until(lambda: gate.waiting(Priority.LIVE) == 1)
    live.join(5)
    backfill.join(5)
    assert order == ["live", "backfill"]


def test_the_gate_is_held_by_one_caller_at_a_time() -> None:
    gate = PriorityGate()
    inside = 0
    most = 0
    lock = threading.Lock()

    def work(priority: Priority) -> None:
        nonlocal inside, most
        for _ in range(50):
            with gate.hold(priority):
                with lock:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0001)
                with lock:
                    inside -= 1

    threads = [
        threading.Thread(target=work, args=(p,))
        for p in (Priority.LIVE,) * 2 + (Priority.BACKFILL,) * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == 1
    assert gate.waiting(Priority.LIVE) == gate.waiting(Priority.BACKFILL) == 0


class FakeText:
    name = "fake-text"
    dimensions = 1
    tokenizer_name = "fake-tokenizer"
    max_input_tokens = 7

    def __init__(self) -> None:
        self.calls: list[int] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.ones((len(texts), 1), dtype=np.float32)


def test_gated_encoders_speak_for_their_models_and_cut_each_call() -> None:
    text = FakeText()
    encoders = gated(Encoders(text=text, clip=None), PriorityGate(), Priority.LIVE, limit=3)
    assert isinstance(encoders.text, GatedTextEmbedder)
    assert (encoders.text.name, encoders.text.dimensions) == ("fake-text", 1)
    assert encoders.text.tokenizer_name == "fake-tokenizer"
    assert encoders.text.max_input_tokens == 7
    assert encoders.text.count_tokens("two words") == 2
    assert encoders.clip is None
    assert encoders.ocr is None
    assert encoders.text.embed_texts(["x"] * 7).shape == (7, 1)
    assert text.calls == [3, 3, 1]


class FakeClip:
    name = "fake-clip"
    dimensions = 2
    max_text_tokens = 77

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(("texts", len(texts)))
        return np.array([[len(text), 0.0] for text in texts], dtype=np.float32)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.calls.append(("images", len(images)))
        return np.array([[image.width, 1.0] for image in images], dtype=np.float32)


class FakeOcr:
    """Reads an image while checking that no one else can take the gate meanwhile."""

    def __init__(self, gate: PriorityGate) -> None:
        self.gate = gate
        self.others: list[str] = []
        self.thread: threading.Thread | None = None

    def recognise(self, image: Image.Image) -> str:
        def other() -> None:
            with self.gate.hold(Priority.LIVE):
                self.others.append("other")

        self.thread = threading.Thread(target=other)
        self.thread.start()
        _wait_until(lambda: self.gate.waiting(Priority.LIVE) == 1)
        assert self.others == []  # the gate is ours while reading
        return f"{image.width} wide"


def test_lane_encoders_cut_clip_calls_and_keep_images_in_order() -> None:
    clip = FakeClip()
    gate, encoders = PriorityGate(), Encoders(text=FakeText(), clip=clip)
    live = gated(encoders, gate, Priority.LIVE, 2)
    backfill = gated(encoders, gate, Priority.BACKFILL, 2)
    assert live.clip is not None
    assert backfill.clip is not None
    assert (live.clip.name, live.clip.dimensions, live.clip.max_text_tokens) == (
        "fake-clip",
        2,
        77,
    )
    images = [Image.new("RGB", (width, 4)) for width in (5, 3, 9)]
    assert backfill.clip.embed_images(images)[:, 0].tolist() == [5.0, 3.0, 9.0]
    assert live.clip.embed_texts(["bbb", "a", "cc"])[:, 0].tolist() == [3.0, 1.0, 2.0]
    assert clip.calls == [("images", 2), ("images", 1), ("texts", 2), ("texts", 1)]


def test_ocr_reads_an_image_holding_the_gate() -> None:
    gate = PriorityGate()
    ocr = FakeOcr(gate)
    encoders = gated(Encoders(text=FakeText(), clip=None, ocr=ocr), gate, Priority.LIVE, 4)
    assert encoders.ocr is not None
    assert encoders.ocr.recognise(Image.new("RGB", (7, 7))) == "7 wide"
    assert ocr.thread is not None
    ocr.thread.join(5)
    assert ocr.others == ["other"]
