"""Index generations: a chunk index per configuration of models (and chunking), the alias
on the live one; build a new one from the live one (reusing what it can), keep every
generation current (dual write), verify, switch and roll back atomically.

Pure: :mod:`meta`, :mod:`naming`, :mod:`reuse`, :mod:`gate`, :mod:`repair`. I/O:
:mod:`registry` (the alias and ``_meta``), :mod:`builder` and :mod:`copying` (build,
verify-and-repair), :mod:`fanout` (the worker's dual write), :mod:`lifecycle` (the steps
behind ``mmrag generations``).
"""

from __future__ import annotations

from indexer.generations.meta import BuildProgress, GenerationConfig, GenerationMeta
from indexer.generations.registry import Generation, GenerationError, GenerationRegistry

__all__ = [
    "BuildProgress",
    "Generation",
    "GenerationConfig",
    "GenerationError",
    "GenerationMeta",
    "GenerationRegistry",
]
