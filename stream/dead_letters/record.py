"""The Kafka record of a dead letter, the same for every writer (worker, watcher, ingress).

Keyed by document (or uri) so a document's letters stay in order; a ``stage`` header lets
tools filter without parsing; the value is cut down to fit the record limit, never refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.dead_letters import DeadLetter, fit_dead_letter

RECORD_OVERHEAD_BYTES = 1024
"""Room left for the key, the headers and Kafka's own framing of a record."""


@dataclass(frozen=True)
class DeadLetterRecord:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    letter: DeadLetter
    """The letter as written (cut down when the original did not fit)."""


def dead_letter_record(letter: DeadLetter, max_record_bytes: int) -> DeadLetterRecord:
    key = (letter.doc_id or letter.uri or "").encode() or None
    headers = [("stage", letter.stage.encode())]
    budget = max_record_bytes - RECORD_OVERHEAD_BYTES - len(key or b"")
    fitted = fit_dead_letter(letter, budget)
    return DeadLetterRecord(key, fitted.to_json_bytes(), headers, fitted)
