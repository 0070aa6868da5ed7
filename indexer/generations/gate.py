"""The promotion gate: may a new generation replace the live one? (pure)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

GATED_METRICS: tuple[str, ...] = ("recall@5", "mrr@10")
DEFAULT_TOLERANCE = 0.01


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reasons: tuple[str, ...]
    """One line per gated metric: both values and whether it held."""


def decide_promotion(
    live: Mapping[str, float],
    candidate: Mapping[str, float],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    metrics: Sequence[str] = GATED_METRICS,
) -> GateDecision:
    """Passes when the candidate is, on every gated metric, no worse than the live
    generation by more than ``tolerance`` (absolute). A metric missing on either side
    fails the gate: nothing was measured, so nothing is known."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be ≥ 0, not {tolerance}")
    passed = True
    reasons = []
    for name in metrics:
        if name not in live or name not in candidate:
            passed = False
            reasons.append(f"{name}: not measured")
            continue
        drop = live[name] - candidate[name]
        holds = drop <= tolerance + 1e-12
        passed = passed and holds
        verdict = "ok" if holds else f"worse by {drop:.3f} > {tolerance:.3f}"
        reasons.append(f"{name}: live {live[name]:.3f}, new {candidate[name]:.3f} ({verdict})")
    return GateDecision(passed, tuple(reasons))
