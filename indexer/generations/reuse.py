"""Which vectors a new generation can copy from the one it is built from (pure).

A vector depends on the encoder that made it, as its name says (the model, and a suffix
for a runtime whose vectors differ: ``@onnx-int8``, ``@bf16``). A vector is copied when
that name is the same in both generations, made again when it differs, and absent when
the new generation has no such model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from indexer.generations.meta import GenerationConfig

VectorAction = Literal["copy", "embed", "drop"]


class ChunkingChanged(ValueError):
    """The new configuration chunks differently: chunk ids change, so the new generation
    cannot be filled from the old one's chunks."""


@dataclass(frozen=True)
class ReusePlan:
    text: VectorAction
    clip: VectorAction

    @property
    def copies_everything(self) -> bool:
        return self.text != "embed" and self.clip != "embed"


def plan_reuse(source: GenerationConfig, target: GenerationConfig) -> ReusePlan:
    """Per vector field, copy or embed again; raises :class:`ChunkingChanged` when the
    chunk pipeline differs (both recorded and different)."""
    if source.chunking and target.chunking and source.chunking != target.chunking:
        raise ChunkingChanged(
            f"the chunking changes ({source.chunking} → {target.chunking}): chunk ids "
            "change, so a generation cannot be copied from the live one. Re-index from the "
            "sources instead (docs/architecture.md, 'Index generations: chunker changes')"
        )
    text: VectorAction = "copy" if source.text_model == target.text_model else "embed"
    clip: VectorAction
    if target.clip_model is None:
        clip = "drop"
    elif source.clip_model == target.clip_model:
        clip = "copy"
    else:
        clip = "embed"
    return ReusePlan(text=text, clip=clip)
