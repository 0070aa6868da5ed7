"""The load: a folder of small Markdown, text and HTML documents, and changes to it."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import prose

KINDS = ("md", "txt", "html")


def document_text(seed: int, kind: str, revision: int = 0) -> str:
    """A small document (one to three chunks) of ``kind``; each revision differs."""
    body = prose(seed * 1000 + revision, paragraphs=1 + seed % 3, words=60)
    if kind == "md":
        return f"{body}\n\nRevision {revision}.\n"
    if kind == "txt":
        return body.replace("# ", "", 1) + f"\n\nRevision {revision}.\n"
    if kind == "html":
        paragraphs = "".join(f"<p>{block}</p>" for block in body.split("\n\n")[1:])
        return (
            f"<!doctype html><html><head><title>Page {seed}</title></head><body>"
            f"<h1>Page {seed}</h1>{paragraphs}<p>Revision {revision}.</p></body></html>"
        )
    raise ValueError(f"unknown kind {kind!r}")


def relative_name(number: int) -> str:
    """``section-3/doc-0042.md``: ten sections, kinds in turn."""
    return f"section-{number % 10}/doc-{number:04d}.{KINDS[number % len(KINDS)]}"


def write_documents(folder: Path, numbers: Sequence[int], revision: int = 0) -> list[Path]:
    written = []
    for number in numbers:
        path = folder / relative_name(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document_text(number, path.suffix[1:], revision))
        written.append(path)
    return written


@dataclass(frozen=True)
class ChangePlan:
    """What happens to the folder during the load, after the first files were written."""

    edits: tuple[int, ...]
    deletes: tuple[int, ...]
    creates: tuple[int, ...]


def plan_changes(documents: int, seed: int, fraction: float = 0.1) -> ChangePlan:
    """Edit and delete about ``fraction`` of the documents each, and create as many new
    ones (numbered after the first ``documents``); an edited file is never deleted."""
    generator = random.Random(seed)
    count = max(1, round(documents * fraction))
    chosen = generator.sample(range(documents), min(documents, 2 * count))
    return ChangePlan(
        edits=tuple(sorted(chosen[:count])),
        deletes=tuple(sorted(chosen[count:])),
        creates=tuple(range(documents, documents + count)),
    )
