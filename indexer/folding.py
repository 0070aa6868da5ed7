"""Folding a document's events of one batch into the state the index must end in (pure).

Events of one document arrive in order (one partition). An event is applied only when it
is newer than what the index holds: a higher revision, or the same revision as a delete of
a document that exists (deletes win ties). Within a batch only the last content-bearing
event matters: an upsert followed by another upsert or a delete is
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
    """``stale`` (not newer: a lower revision, or the same one unless it deletes what
    exists), ``superseded`` (a later event replaces it),
    ``delete``, ``move`` (rename only), or ``content`` (extract and chunk)."""
    read_uri: str | None = None
    """For ``content``: where to read the document now."""

    @property
    def uri(self) -> str:
        """Where the document is after this step (for ``content``, where it is read)."""
        return self.read_uri or self.event.new_uri or self.event.uri


def _order(event: ChangeEvent) -> tuple[int, bool]:
    """What makes an event newer: its revision, then being a delete (a delete wins over
    an upsert of the same revision: CMSs may report a deleted entry as it last was)."""
    return event.revision, event.op is Operation.DELETE


def fold_events(events: Sequence[ChangeEvent], manifest: Manifest | None) -> list[EventStep]:
    steps: list[EventStep] = []
    newest = (manifest.revision, manifest.deleted) if manifest is not None else (-1, False)
    exists = manifest is not None and not manifest.deleted
    for index, event in enumerate(events):
        if _order(event) <= newest:
            steps.append(EventStep(event, "stale"))
            continue
        newest = _order(event)
        later = events[index + 1 :]
        replaced = any(
            e.op in (Operation.UPSERT, Operation.DELETE) and _order(e) > newest for e in later
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
