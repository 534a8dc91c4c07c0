"""Pure: the realised precision of auto-coding on an audit sample, and the threshold it supports.

No Django. An audited item is (model confidence, whether the model's label equals the human
one). Precision at a threshold is the share of correct labels among items at or above it, with
a Wilson interval; the threshold re-chosen from the audit is the lowest confidence whose
one-sided 95% lower bound (the lower end of the two-sided 90% Wilson interval) reaches the
target. Choosing among many thresholds on one sample makes that bound a little optimistic; the
audit keeps growing, and the bound is recomputed on every new human code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from surveys.statistics.estimators import wilson_interval

Item = tuple[float, bool]  # (confidence, model label correct)


@dataclass(frozen=True)
class Precision:
    """Precision of the items at or above `threshold`; None where no item reaches it."""

    threshold: float | None
    n: int
    estimate: float | None
    low: float | None
    high: float | None


def precision_at(items: Sequence[Item], threshold: float | None) -> Precision:
    """Realised precision (95% Wilson interval) of the items with confidence >= threshold."""
    if threshold is None:
        return Precision(None, 0, None, None, None)
    chosen = [correct for confidence, correct in items if confidence >= threshold]
    if not chosen:
        return Precision(threshold, 0, None, None, None)
    hits = sum(chosen)
    low, high = wilson_interval(hits, len(chosen)) or (None, None)
    return Precision(threshold, len(chosen), hits / len(chosen), low, high)


def lower_bound(hits: int, n: int) -> float:
    """One-sided 95% lower confidence bound of hits/n (0.0 for no items)."""
    interval = wilson_interval(hits, n, confidence=0.90) if n else None
    return interval[0] if interval else 0.0


def threshold_choose(items: Sequence[Item], target: float) -> tuple[float | None, float | None]:
    """The lowest confidence whose one-sided 95% lower bound of precision reaches `target`.

    Returns (threshold, its lower bound), or (None, None) when no threshold reaches the target
    (then nothing is auto-coded).
    """
    ordered = sorted(items, key=lambda item: item[0], reverse=True)
    best: tuple[float | None, float | None] = (None, None)
    hits = 0
    for position, (confidence, correct) in enumerate(ordered, start=1):
        hits += int(correct)
        # Only where the next item has a lower confidence is "confidence >= t" this prefix.
        if position < len(ordered) and ordered[position][0] == confidence:
            continue
        bound = lower_bound(hits, position)
        if bound >= target:
            best = (confidence, bound)
    return best
