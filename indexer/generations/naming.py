"""Generation index names: ``<alias>-<NNNNNN>``, numbered in creation order (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from indexer.store.mappings import generation_index_name


def generation_number(alias: str, index: str) -> int | None:
    """The number in ``<alias>-000042`` (42), or ``None`` for any other index name."""
    prefix = f"{alias}-"
    if not index.startswith(prefix):
        return None
    digits = index[len(prefix) :]
    if len(digits) != 6 or not digits.isdigit():
        return None
    return int(digits)


def ordered_generations(alias: str, indexes: Iterable[str]) -> list[str]:
    """The generation indexes among ``indexes``, oldest first (others are ignored)."""
    numbered = [(generation_number(alias, name), name) for name in indexes]
    return [name for number, name in sorted((n, i) for n, i in numbered if n is not None)]


def next_generation(alias: str, existing: Iterable[str]) -> str:
    """The name after the highest existing generation (numbers are never reused, so a
    dropped generation's name is never taken again while a later one exists)."""
    numbers = [n for name in existing if (n := generation_number(alias, name)) is not None]
    return generation_index_name(alias, max(numbers, default=0) + 1)


def generation_documents_index(documents_index: str, alias: str, generation: str) -> str:
    """The documents index of a generation that chunks differently from the shared one:
    ``<documents index>-<NNNNNN>`` with the generation's number (``mmrag-documents-000003``
    for ``mmrag-chunks-000003``)."""
    number = generation_number(alias, generation)
    if number is None:
        raise ValueError(f"{generation} is not a generation of {alias}")
    return f"{documents_index}-{number:06d}"
