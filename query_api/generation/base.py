"""The generation contract between retrieval (``query_api.app``) and answer writing.

Retrieval hands numbered passages; ``generate_answer`` yields answer events: tokens as they
are written, then the citations (only passage numbers the answer cites, each a retrieved
chunk), then done. With no LLM configured, or when the LLM's answer cannot be trusted
(no citation of a retrieved passage, a loop, no answer in time), the answer is
extractive: the best passages with their citations, no generation, and ``DoneEvent``
says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

FallbackReason = Literal[
    "no_llm", "no_passages", "llm_failed", "timeout", "repetition", "no_citations", "too_short"
]
"""Why an answer is extractive: no LLM is configured; nothing was retrieved; the LLM
failed, or did not finish a cited sentence within the time budget; it looped before
citing; it cited nothing that was retrieved; it said (almost) nothing."""


@dataclass(frozen=True)
class Passage:
    number: int
    """1-based; the answer cites it as ``[number]``."""
    chunk_id: str
    doc_id: str
    uri: str
    title: str | None
    page: int | None
    modality: Literal["text", "image"]
    text: str
    """Text chunks: their text. Image chunks: their describing text (alt, caption, OCR)."""
    image_url: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class TokenEvent:
    text: str


@dataclass(frozen=True)
class CitationsEvent:
    numbers: tuple[int, ...]
    """Passage numbers cited by the answer, in first-cited order."""


@dataclass(frozen=True)
class DoneEvent:
    answer: str
    generator: str
    """The LLM's name, or ``extractive``."""
    fallback_reason: FallbackReason | None = None
    """Why the answer is extractive; None when the LLM's answer is shown."""


AnswerEvent = TokenEvent | CitationsEvent | DoneEvent


class LLM(Protocol):
    """A text generator. Implementations: an OpenAI-compatible chat-completions client,
    and a small local model shipped in a package (offline default)."""

    @property
    def name(self) -> str: ...

    def stream(self, system: str, user: str, *, max_tokens: int) -> AsyncIterator[str]:
        """Yield the completion's text pieces as they come; raise ``LLMUnavailable`` when
        the model cannot be reached or fails (after its own timeouts and retries)."""
        ...


class LLMUnavailable(RuntimeError):
    """The configured LLM could not answer (unreachable, timed out, failed)."""
