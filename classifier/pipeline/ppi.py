"""Prediction-powered inference (PPI) for category shares.

Angelopoulos, Bates, Fannjiang, Jordan & Zrnic, "Prediction-powered inference", Science 382
(2023). The model labels every answer; a random audit sample also has a human label. The share
of a category is estimated as the mean of the model's indicator over all answers, corrected by
the mean error (human minus model) on the audited answers. Its variance adds the two sources of
uncertainty, so the interval stays valid when the model is biased on this population. The naive
figure (model labels alone, or auto-coded answers alone) is returned beside it for comparison.

Plain numpy and scipy; no Django.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class ShareEstimate:
    """A share on the 0-1 scale with its two-sided interval; None where undefined."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def ppi_mean(
    predicted_all: Sequence[float] | np.ndarray,
    predicted_audit: Sequence[float] | np.ndarray,
    true_audit: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> ShareEstimate:
    """PPI estimate of E[Y]: mean f(X) over all + mean (Y - f(X)) over the audit, CLT interval.

    ``predicted_all`` holds the model's value (0/1 indicator or probability) for every unit the
    share is about (the audited units may be among them); ``predicted_audit`` and ``true_audit``
    are aligned arrays for the audited units. With no audit the estimate is undefined (None):
    model labels alone are not evidence about a shifted population.
    """
    f_all = np.asarray(predicted_all, dtype=float)
    f_aud = np.asarray(predicted_audit, dtype=float)
    y_aud = np.asarray(true_audit, dtype=float)
    if f_aud.shape != y_aud.shape:
        raise ValueError("predicted_audit and true_audit must have the same length")
    n, big_n = int(y_aud.size), int(f_all.size)
    if n < 2 or big_n < 2:
        return ShareEstimate(None, None, None, n)
    rectifier = y_aud - f_aud
    estimate = float(f_all.mean() + rectifier.mean())
    variance = float(f_all.var(ddof=1) / big_n + rectifier.var(ddof=1) / n)
    half = _z(confidence) * math.sqrt(max(variance, 0.0))
    return ShareEstimate(_clip(estimate), _clip(estimate - half), _clip(estimate + half), n)


def naive_share(
    indicator: Sequence[float] | np.ndarray, *, confidence: float = 0.95
) -> ShareEstimate:
    """Naive share of a 0/1 indicator with a Wilson interval (treats model labels as truth)."""
    values = np.asarray(indicator, dtype=float)
    n = int(values.size)
    if n == 0:
        return ShareEstimate(None, None, None, 0)
    p = float(values.mean())
    z = _z(confidence)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return ShareEstimate(p, _clip(centre - half), _clip(centre + half), n)


def category_shares(
    categories: Iterable[str],
    predicted_all: Sequence[str],
    predicted_audit: Sequence[str],
    true_audit: Sequence[str],
    *,
    confidence: float = 0.95,
) -> dict[str, dict[str, ShareEstimate]]:
    """Per category: {"ppi": PPI share, "naive": share of the model's labels over all answers}.

    Labels are single codes per answer; a multi-label codebook calls :func:`ppi_mean` per
    category with its own indicators.
    """
    if len(predicted_audit) != len(true_audit):
        raise ValueError("predicted_audit and true_audit must have the same length")
    f_all = np.asarray(list(predicted_all), dtype=object)
    f_aud = np.asarray(list(predicted_audit), dtype=object)
    y_aud = np.asarray(list(true_audit), dtype=object)
    shares: dict[str, dict[str, ShareEstimate]] = {}
    for code in categories:
        shares[code] = {
            "ppi": ppi_mean(f_all == code, f_aud == code, y_aud == code, confidence=confidence),
            "naive": naive_share(f_all == code, confidence=confidence),
        }
    return shares
