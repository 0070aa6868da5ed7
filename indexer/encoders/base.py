"""The encoder ports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image

    from indexer.ocr import TextRecogniser

    Vectors = NDArray[np.float32]


class TokenCounter(Protocol):
    """Counts tokens the way a text encoder does, so that chunks are sized to its window.

    Chunking asks it about every paragraph (and sentence of a long one), so counting must
    be cheap and safe to call from a worker thread.
    """

    @property
    def tokenizer_name(self) -> str:
        """What counts: a change re-chunks every document (it is in the chunking version)."""
        ...

    @property
    def max_input_tokens(self) -> int:
        """Tokens of text the encoder reads, special tokens excluded; the rest is cut."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without special tokens; additive over whitespace-separated
        pieces for WordPiece/BPE tokenizers (chunking relies on that)."""
        ...


class TextEmbedder(TokenCounter, Protocol):
    """Embeds text for text→text retrieval. Vectors are L2-normalised float32 rows."""

    @property
    def name(self) -> str:
        """Model id or directory and anything that changes its vectors (e.g. ``@bf16``)."""
        ...

    @property
    def dimensions(self) -> int: ...

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        """One row per text, in order; must be safe to call from a worker thread."""
        ...


class ImageTextEmbedder(Protocol):
    """A dual encoder whose image and text vectors share one space (CLIP, SigLIP)."""

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    @property
    def max_text_tokens(self) -> int:
        """The text tower's window (77 for CLIP): longer texts are truncated to it."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> Vectors: ...

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        """One row per RGB image, in order."""
        ...


@dataclass(frozen=True)
class Encoders:
    """The encoders one index generation is built with. ``clip`` is ``None`` when no
    CLIP-style model is configured or loadable: images are then found only through their
    text (alt text, captions, context), and the worker says so in its log and health."""

    text: TextEmbedder
    clip: ImageTextEmbedder | None
    ocr: TextRecogniser | None = None
    """Reads text in images (new image chunks only); ``None``: no OCR."""
