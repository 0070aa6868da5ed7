"""Index generations: a chunk index per configuration of models (and chunking), the alias
on the live one; build a new one from the live one (reusing what it can), keep every
generation current (dual write), verify, switch and roll back atomically.

Pure: :mod:`meta` (a generation's ``_meta`` record), :mod:`naming` (index names),
:mod:`reuse` (which vectors a build can copy), :mod:`gate` (the promotion gate),
:mod:`repair` (what makes a document's chunks match its manifest), :mod:`chunking_groups`
(generations grouped by documents index), :mod:`republish` (the events and decisions that
rebuild another chunking group), :mod:`reembed` (a chunk with another generation's vectors:
CPU-bound, no I/O).

I/O: :mod:`elastic_io` (the shared Elasticsearch paging, reads and bulk writes),
:mod:`registry` (the alias and ``_meta``), :mod:`alias_view` (the worker's cached view of
the alias), :mod:`encoders` (each generation's models, loaded once), :mod:`stored_images`
(a stored image's bytes, read again), :mod:`builder` and :mod:`copying` (build by copying,
verify-and-repair), :mod:`rechunk` and :mod:`rechunk_sync` (fill and level a chunking group
through the change log), :mod:`vector_reuse` (the live generation's vectors a group
copies), :mod:`fanout` (the worker's dual write), :mod:`group_indexer` (the worker's
pipeline per chunking group); behind ``mmrag generations``: :mod:`planning` (plan a build,
start or resume it), :mod:`build_runner` (run it: copy, or re-index through the worker),
:mod:`promotion` (verify, promote through the gate, roll back).
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
