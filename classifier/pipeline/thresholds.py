"""Confidence-threshold selection for routing predictions to automatic coding."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: Threshold used when no confidence level reaches the target precision: above any
#: probability, so nothing is auto-coded.
NO_THRESHOLD: float = float(np.nextafter(1.0, 2.0))


def min_auto_coded(n: int, *, floor: int = 20, share: float = 0.05) -> int:
    """Return the minimum number of auto-coded items a threshold needs to qualify (<= n)."""
    return max(1, min(n, max(floor, math.ceil(share * n))))


def precision_curve(
    confidence: np.ndarray, correct: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ascending candidate thresholds with precision and count of items at or above each."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if conf.shape != ok.shape or conf.ndim != 1:
        raise ValueError("confidence and correct must be 1-D arrays of equal length")
    if conf.size == 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    order = np.argsort(-conf, kind="stable")
    conf_sorted = conf[order]
    hits = np.cumsum(ok[order])
    # The last index of each run of equal confidences (items >= that value are a prefix).
    last = np.flatnonzero(np.r_[conf_sorted[1:] != conf_sorted[:-1], True])
    counts = last + 1
    precision = hits[last] / counts
    thresholds = conf_sorted[last]
    return thresholds[::-1], precision[::-1], counts[::-1]


def pick_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    target_precision: float,
    min_count: int | None = None,
) -> float:
    """Return the lowest threshold whose precision among items >= it reaches the target.

    Only thresholds leaving at least ``min_count`` items at or above them qualify (default
    :func:`min_auto_coded`); if none qualifies, :data:`NO_THRESHOLD` is returned.
    """
    conf = np.asarray(confidence, dtype=float)
    if min_count is None:
        min_count = min_auto_coded(conf.size)
    thresholds, precision, counts = precision_curve(conf, correct)
    ok = (precision >= target_precision - 1e-12) & (counts >= min_count)
    if not ok.any():
        return NO_THRESHOLD
    return float(thresholds[np.argmax(ok)])


def precision_lower_bound(hits: int, n: int, *, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound of a precision of ``hits`` correct out of ``n``."""
    if n <= 0 or hits <= 0:
        return 0.0
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    return float(stats.beta.ppf(1.0 - confidence, hits, n - hits + 1))


def pick_threshold_lower_bound(
    confidence: np.ndarray,
    correct: np.ndarray,
    target_precision: float,
    *,
    level: float = 0.95,
) -> tuple[float, float | None]:
    """Return (threshold, lower bound) for the lowest confidence whose precision bound qualifies.

    A candidate qualifies when the one-sided ``level`` Clopper-Pearson lower bound of the
    precision among items at or above it reaches ``target_precision``; small counts therefore
    never qualify by luck. Without a qualifying candidate: (:data:`NO_THRESHOLD`, None).
    """
    thresholds, precision, counts = precision_curve(np.asarray(confidence), correct)
    hits = np.rint(precision * counts).astype(np.int64)
    bounds = np.array(
        [
            precision_lower_bound(int(h), int(k), confidence=level)
            for h, k in zip(hits, counts, strict=True)
        ]
    )
    ok = bounds >= target_precision - 1e-12
    if not ok.any():
        return NO_THRESHOLD, None
    first = int(np.argmax(ok))
    return float(thresholds[first]), float(bounds[first])
