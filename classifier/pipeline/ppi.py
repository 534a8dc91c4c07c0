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


@dataclass(frozen=True)
class MeanEstimate:
    """A mean over units (respondents) with its two-sided interval; None where undefined.

    `units` is the number of units the mean is over, `audited` the number of audited lines the
    correction rests on (0 for a naive mean).
    """

    estimate: float | None
    low: float | None
    high: float | None
    units: int
    audited: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unit_index(units: Sequence[Any]) -> tuple[np.ndarray, int]:
    """Each line's unit as 0..k-1 (in order of first appearance), and k."""
    positions: dict[Any, int] = {}
    index = np.fromiter((positions.setdefault(u, len(positions)) for u in units), dtype=np.int64)
    return index, len(positions)


def _unit_means(index: np.ndarray, k: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: the mean of its lines' values, and its number of lines."""
    lines = np.bincount(index, minlength=k).astype(float)
    return np.bincount(index, weights=values, minlength=k) / lines, lines


def _weights(unit_weights: Sequence[float] | np.ndarray | None, k: int) -> np.ndarray:
    if unit_weights is None:
        return np.ones(k)
    weights = np.asarray(unit_weights, dtype=float)
    if weights.shape != (k,) or np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError("unit_weights needs one non-negative weight per unit, not all zero")
    return weights


def _interval(
    estimate: float, influence: np.ndarray, units: int, audited: int, confidence: float
) -> MeanEstimate:
    """A CLT interval from each unit's influence on the estimate (k/(k-1) small-sample factor)."""
    variance = float(np.sum(influence**2)) * units / (units - 1)
    half = _z(confidence) * math.sqrt(max(variance, 0.0))
    return MeanEstimate(
        _clip(estimate), _clip(estimate - half), _clip(estimate + half), units, audited
    )


def unit_mean(
    units: Sequence[Any],
    values: Sequence[float] | np.ndarray,
    *,
    unit_weights: Sequence[float] | np.ndarray | None = None,
    confidence: float = 0.95,
) -> MeanEstimate:
    """Naive mean over units of each unit's mean line value (values taken as truth).

    Lines are given one per element: ``units[i]`` is the unit (respondent) line ``i`` belongs
    to, ``values[i]`` its value in 0..1. Unit weights follow the units' first appearance.
    """
    index, k = _unit_index(units)
    if k < 2:
        return MeanEstimate(None, None, None, k, 0)
    means, _lines = _unit_means(index, k, np.asarray(values, dtype=float))
    omega = _weights(unit_weights, k)
    estimate = float(np.sum(omega * means) / omega.sum())
    influence = omega * (means - estimate) / omega.sum()
    return _interval(estimate, influence, k, 0, confidence)


def ppi_unit_mean(
    units: Sequence[Any],
    predicted: Sequence[float] | np.ndarray,
    true: Sequence[float | None],
    *,
    unit_weights: Sequence[float] | np.ndarray | None = None,
    confidence: float = 0.95,
) -> MeanEstimate:
    """PPI estimate of the mean over units of each unit's mean true line value.

    A unit (respondent) has n_i lines (tasks); its score is the mean over its lines, so the mean
    score is a mean over lines with weight omega_i / n_i. ``predicted[i]`` is the model's value of
    line ``i`` (all lines), ``true[i]`` the human value where the line is in the random audit
    sample and None elsewhere. The estimate is the weighted mean of the predictions plus the
    weighted mean error (true - predicted) over the audited lines (a ratio estimator, since the
    audit is a random share of lines). The interval linearises both parts per unit, so it
    accounts for the prediction's spread over all units, the audit's errors, their covariance
    (the audit is drawn from the same lines) and lines of one unit being alike. Undefined
    (None) with fewer than two audited lines or two units.
    """
    index, k = _unit_index(units)
    f = np.asarray(predicted, dtype=float)
    if f.shape != (index.size,) or len(true) != index.size:
        raise ValueError("units, predicted and true must have the same length")
    audited = np.fromiter((value is not None for value in true), dtype=bool, count=index.size)
    n_audit = int(audited.sum())
    if k < 2 or n_audit < 2:
        return MeanEstimate(None, None, None, k, n_audit)
    y = np.asarray([np.nan if v is None else v for v in true], dtype=float)
    omega = _weights(unit_weights, k)
    means, lines = _unit_means(index, k, f)
    naive = float(np.sum(omega * means) / omega.sum())
    line_weight = (omega / lines)[index]
    error = np.where(audited, y - f, 0.0)
    audit_weight = np.where(audited, line_weight, 0.0)
    rectifier = float(np.sum(audit_weight * error) / audit_weight.sum())
    # Each unit's share of the audit's weighted error around the rectifier.
    u = np.bincount(index, weights=audit_weight * (error - rectifier), minlength=k)
    influence = omega * (means - naive) / omega.sum() + u / audit_weight.sum()
    return _interval(naive + rectifier, influence, k, n_audit, confidence)
