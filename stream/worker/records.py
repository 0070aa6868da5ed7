"""A record of a change topic as the worker handles it, apart from Faust and aiokafka."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawRecord:
    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
