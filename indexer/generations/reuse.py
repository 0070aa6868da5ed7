"""Which vectors a new generation can copy from the one it is built from (pure).

A vector depends on the encoder that made it, as its name says (the model, and a suffix
for a runtime whose vectors differ: ``@onnx-int8``, ``@bf16``). A vector is copied when
that name is the same in both generations, made again when it differs, and absent when
the new generation has no such model.

Chunks are copied only when both generations chunk alike. A new chunking (another chunk
size or overlap, another tokenizer) changes chunk ids: the new generation is then filled
by the worker from the sources (``rechunk``: ``indexer.generations.rechunk``), and its
vectors are embedded there, but for chunks whose ids did not change, whose vectors the
worker copies from the live generation when the model is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from indexer.generations.meta import GenerationConfig

VectorAction = Literal["copy", "embed", "drop"]


@dataclass(frozen=True)
class ReusePlan:
    text: VectorAction
    clip: VectorAction
    rechunk: bool = False
    """The chunking changes: the generation is filled from the sources, not copied."""

    @property
    def copies_everything(self) -> bool:
        return not self.rechunk and self.text != "embed" and self.clip != "embed"


def plan_reuse(source: GenerationConfig, target: GenerationConfig) -> ReusePlan:
    """Per vector field, copy or embed again, and whether the chunking changes (both
    recorded and different: a generation whose chunking is not recorded chunks as the
    live one did)."""
    rechunk = bool(source.chunking and target.chunking and source.chunking != target.chunking)
    text: VectorAction = "copy" if source.text_model == target.text_model else "embed"
    clip: VectorAction
    if target.clip_model is None:
        clip = "drop"
    elif source.clip_model == target.clip_model:
        clip = "copy"
    else:
        clip = "embed"
    return ReusePlan(text=text, clip=clip, rechunk=rechunk)
