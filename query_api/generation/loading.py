"""Building the configured LLM (the only place that decides which one writes answers)."""

from __future__ import annotations

import importlib.util
import logging

from query_api.generation.base import LLM
from query_api.generation.settings import GenerationSettings

logger = logging.getLogger(__name__)


def load_llm(settings: GenerationSettings) -> LLM | None:
    """The LLM for ``settings.provider``, not yet loaded (models load lazily), or None for
    extractive answers.

    ``openai`` without a URL or model, and a ``local_model_dir`` that is not a directory,
    are configuration errors (``ValueError``): the operator asked for an LLM that cannot
    exist. A missing model *package* (or ML stack) for the ``local`` provider only
    logs a warning and returns None, so an install without the ``ml`` extra still answers,
    extractively.
    """
    if settings.provider == "none":
        return None
    if settings.provider == "openai":
        from query_api.generation.openai_compatible import OpenAICompatibleLLM

        return OpenAICompatibleLLM(settings)
    if settings.local_model_dir is not None and not settings.local_model_dir.is_dir():
        raise ValueError(f"MMRAG_LLM_LOCAL_MODEL_DIR {settings.local_model_dir} is not a directory")
    missing = [
        module for module in ("torch", "transformers") if importlib.util.find_spec(module) is None
    ]
    if settings.local_model_dir is None:
        package = settings.local_model_package.replace("-", "_")
        if importlib.util.find_spec(package) is None:
            missing.append(settings.local_model_package)
    if missing:
        logger.warning(
            "llm_unavailable provider=local missing=%s: answers will be extractive "
            "(install mmrag[ml], or set MMRAG_LLM_PROVIDER)",
            ",".join(missing),
        )
        return None
    from query_api.generation.local import LocalTransformersLLM

    return LocalTransformersLLM(settings)
