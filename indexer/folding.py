"""Folding a document's events of one batch into the state the index must end in (pure).

Events of one document arrive in order (one partition). Within a batch only the last
content-bearing event matters: an upsert followed by another upsert or a delete is
superseded and never extracted. Content is read from where the document is at the end of
the batch (a later move changes where its bytes are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from indexer.events import ChangeEvent, Operation
from indexer.manifest import Manifest


@dataclass(frozen=True)
class EventStep:
    event: ChangeEvent
    action: Literal["stale", "superseded", "delete", "move", "content"]
    """``stale`` (revision not newer), ``superseded`` (a later event replaces it),
    ``delete``, ``move`` (rename only), or ``content`` (extract and chunk)."""
    read_uri: str | None = None
    """For ``content``: where to read the document now."""


def fold_events(events: Sequence[ChangeEvent], manifest: Manifest | None) -> list[EventStep]:
    steps: list[EventStep] = []
    revision = manifest.revision if manifest is not None else -1
    exists = manifest is not None and not manifest.deleted
    for index, event in enumerate(events):
        if event.revision <= revision:
            steps.append(EventStep(event, "stale"))
            continue
        revision = event.revision
        later = events[index + 1 :]
        replaced = any(
            e.op in (Operation.UPSERT, Operation.DELETE) and e.revision > event.revision
            for e in later
        )
        if event.op is Operation.DELETE:
            steps.append(EventStep(event, "delete"))
            exists = False
        elif event.op is Operation.MOVE and exists:
            steps.append(EventStep(event, "move"))
        elif replaced:
            steps.append(EventStep(event, "superseded"))
            exists = True
        else:
            steps.append(EventStep(event, "content", read_uri=_final_uri(event, later)))
            exists = True
    return steps


def _final_uri(event: ChangeEvent, later: Sequence[ChangeEvent]) -> str:
    uri = event.new_uri or event.uri
    for following in later:
        if following.op is Operation.MOVE and following.revision > event.revision:
            uri = following.new_uri or uri
    return uri
