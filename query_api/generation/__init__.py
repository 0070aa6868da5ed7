"""Answer generation: a grounded, citation-numbered prompt, an ``LLM`` behind a protocol
(OpenAI-compatible server, or a small local model offline), and an honest extractive
fallback. Importing this package imports neither torch nor transformers."""

from __future__ import annotations

from query_api.generation.answer import generate_answer
from query_api.generation.base import (
    LLM,
    AnswerEvent,
    CitationsEvent,
    DoneEvent,
    LLMUnavailable,
    Passage,
    TokenEvent,
)
from query_api.generation.loading import load_llm
from query_api.generation.settings import GenerationSettings

__all__ = [
    "LLM",
    "AnswerEvent",
    "CitationsEvent",
    "DoneEvent",
    "GenerationSettings",
    "LLMUnavailable",
    "Passage",
    "TokenEvent",
    "generate_answer",
    "load_llm",
]
