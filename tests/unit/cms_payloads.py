"""Shared helpers of the CMS ingress unit tests: realistic payloads and a fixed clock."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "cms"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@cache
def _parsed(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return loaded


def load_payload(name: str) -> dict[str, Any]:
    """A fresh (deep) copy of ``fixtures/cms/<name>.json``, safe to modify."""
    return copy.deepcopy(_parsed(name))


def load_bytes(name: str) -> bytes:
    """The fixture's bytes exactly as a CMS would send them."""
    return (FIXTURES / f"{name}.json").read_bytes()
