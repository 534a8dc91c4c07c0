"""Argument checks and array types shared by the pure statistics modules (numpy only, no Django).

One home for each rule about what a caller may pass: the smallest cell size k, a confidence
level, survey weights. `estimators`, `disclosure` and `tables` all call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

MIN_K = 5

BoolArray: TypeAlias = NDArray[np.bool_]
IntArray: TypeAlias = NDArray[np.int64]
FloatArray: TypeAlias = NDArray[np.float64]


def check_confidence(confidence: float) -> None:
    """Raise ValueError unless confidence is a number strictly between 0 and 1."""
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def check_k(k: int) -> None:
    """Raise ValueError unless k is an integer (not a bool) of at least MIN_K."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (an integer), got {k!r}")


def weights_array(weights: Iterable[float], *, positive: bool) -> FloatArray:
    """Weights as a 1-d float array; ValueError unless finite and >= 0 (> 0 when positive)."""
    w = np.asarray(list(weights) if not isinstance(weights, np.ndarray) else weights, dtype=float)
    if w.ndim != 1:
        raise ValueError("weights must be one-dimensional")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite numbers")
    if positive and np.any(w <= 0):
        raise ValueError("weights must be positive")
    if np.any(w < 0):
        raise ValueError("weights must not be negative")
    return w


def aligned_weights(weights: Sequence[float] | None, n: int) -> FloatArray | None:
    """Positive weights, one per value of n values, as an array; None stays None (unweighted)."""
    if weights is None:
        return None
    w = weights_array(weights, positive=True)
    if w.shape[0] != n:
        raise ValueError(f"got {w.shape[0]} weights for {n} values")
    return w


def names(items: Iterable[object]) -> str:
    """The items' reprs joined by commas, for error messages."""
    return ", ".join(repr(item) for item in items)
