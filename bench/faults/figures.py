"""Turning an audit and a dead-letter count into the suite's figures (pure)."""

from __future__ import annotations

from bench.faults.audit import Findings, examples
from bench.faults.report import Figure


def audit_figures(scenario: str, findings: Findings) -> list[Figure]:
    """The figures every load scenario must hold at 0."""
    rows = [
        ("documents lost (file without manifest)", findings.lost),
        ("documents outdated (manifest of old content)", findings.outdated),
        ("manifests with wrong chunk ids", findings.wrong_chunks),
        ("chunks missing from the index", findings.missing_chunks),
        ("stale chunks (old revision, deleted, orphan)", findings.stale_chunks),
        ("duplicate chunks", findings.duplicate_chunks),
        ("duplicate live manifests", findings.duplicate_documents),
        ("deleted files still indexed", findings.deleted_present),
    ]
    return [
        Figure(scenario, name, len(names), required_zero=True, detail=examples(names))
        for name, names in rows
    ]
