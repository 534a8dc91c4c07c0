"""Aggregate statistics for publication: intervals, means and survey weights.

Plain functions over plain data (numpy and scipy only, no Django), so the API, the exports and an
analyst's notebook compute the same figures from the same code.

Conventions shared by every function here:

* Weights are survey weights (for example from `poststratification_weights`), not frequency
  weights: a weighted proportion or mean is a ratio estimator, its uncertainty uses the Kish
  effective sample size or a linearisation standard error, never the sum of the weights.
* Undefined quantities are `None`, never NaN, so every `as_dict()` is strict JSON.
* Percentages and their intervals are on the 0-100 scale; `wilson_interval` works on 0-1.
* A table is built from one value per respondent (`frequency_table`, `crosstab`) or from counts
  per cell, with weight sums and sums of squared weights when weighted
  (`frequency_table_from_counts`, `crosstab_from_counts`): the same figures either way, but the
  second costs in proportion to the number of cells rather than of respondents.

Disclosure control lives in `disclosure`, the tables built on both in `tables`.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from surveys.statistics.checks import (
    MIN_K,
    aligned_weights,
    check_confidence,
    names,
    weights_array,
)

# MIN_K is named from here by the API and the statistics requests: the smallest k they accept.
__all__ = [
    "MIN_K",
    "MeanEstimate",
    "kish_effective_n",
    "mean_interval",
    "poststratification_factors",
    "poststratification_weights",
    "wilson_interval",
]

# --- intervals and effective sample size --------------------------------------------------------


def wilson_interval(
    successes: float, n: float, *, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Wilson score interval for the proportion successes/n (0-1 scale); None when n == 0.

    n may be fractional (a Kish effective sample size, with successes = proportion * n). With no
    observations there is no interval, so None rather than NaN, and nothing is divided by zero.
    """
    check_confidence(confidence)
    if not (math.isfinite(successes) and math.isfinite(n)):
        raise ValueError("successes and n must be finite")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n!r}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie between 0 and n, got {successes!r} of {n!r}")
    if n == 0:
        return None
    z = _normal_quantile(confidence)
    z2 = z * z
    p = successes / n
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # The interval always contains p, and is exactly [0, ..] at p = 0 and [.., 1] at p = 1;
    # rounding can land a hair outside either, so pin those facts down.
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return low, high


@functools.lru_cache(maxsize=64)
def _normal_quantile(confidence: float) -> float:
    """The two-sided normal critical value; cached, since a table asks for it once per cell."""
    return float(stats.norm.isf((1 - confidence) / 2.0))


def kish_effective_n(weights: Sequence[float] | ArrayLike) -> float:
    """Kish effective sample size (sum w)^2 / sum w^2; 0.0 for no weights or all-zero weights."""
    w = weights_array(weights, positive=False)  # type: ignore[arg-type]
    total = float(w.sum())
    if total == 0:
        return 0.0
    return total * total / float(np.dot(w, w))


@dataclass(frozen=True)
class MeanEstimate:
    """A mean with its confidence interval; low/high are None when no interval is defined."""

    mean: float | None
    low: float | None
    high: float | None
    n: int
    sd: float | None
    n_effective: float
    confidence: float
    weighted: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        return asdict(self)


def mean_interval(
    values: Sequence[float | None],
    weights: Sequence[float] | None = None,
    *,
    confidence: float = 0.95,
) -> MeanEstimate:
    """Mean with a t-interval; weighted: ratio mean, linearisation SE, df = Kish n - 1.

    None values are missing and dropped together with their weights. Unweighted: sample sd
    (ddof=1), se = sd / sqrt(n), t with n - 1 df. Weighted (sampling weights, all positive):
    mean = sum(w y) / sum(w); se^2 = n / (n - 1) * sum(w^2 (y - mean)^2) / sum(w)^2, the Taylor
    linearisation of the ratio estimator (what R's survey::svymean reports for a design with
    only weights); sd = sqrt(n / (n - 1) * sum(w (y - mean)^2) / sum(w)); t with Kish n - 1 df.
    The interval is None with fewer than two observations, or (weighted) a Kish n below 2.
    """
    check_confidence(confidence)
    w_all = aligned_weights(weights, len(values))
    keep = [i for i, v in enumerate(values) if v is not None]
    y = np.asarray([values[i] for i in keep], dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite numbers or None")
    n = int(y.shape[0])
    weighted = w_all is not None
    if n == 0:
        return MeanEstimate(None, None, None, 0, None, 0.0, confidence, weighted)
    if w_all is None:
        mean = float(np.mean(y))
        n_eff = float(n)
        sd = float(np.std(y, ddof=1)) if n >= 2 else None
        se = sd / math.sqrt(n) if sd is not None else None
    else:
        w = w_all[keep]
        total = float(w.sum())
        mean = float(np.dot(y, w) / total)
        n_eff = kish_effective_n(w)
        sd = se = None
        if n >= 2:
            resid = y - mean
            inflate = n / (n - 1)
            sd = math.sqrt(inflate * float(np.dot(w, resid * resid)) / total)
            se = math.sqrt(inflate * float(np.sum((w * resid) ** 2))) / total
    df = n_eff - 1
    if se is None or df < 1:
        return MeanEstimate(mean, None, None, n, sd, n_eff, confidence, weighted)
    q = float(stats.t.isf((1 - confidence) / 2.0, df))
    return MeanEstimate(mean, mean - q * se, mean + q * se, n, sd, n_eff, confidence, weighted)


# --- weighting ----------------------------------------------------------------------------------


def poststratification_weights(strata: Sequence[str], targets: Mapping[str, float]) -> list[float]:
    """Per-respondent weights target share / sample share of the stratum; they average 1.

    Targets are normalised to sum to 1. Raises ValueError for respondents in strata missing from
    the targets, for a stratum with a positive target but no respondents (its share could not be
    reached), and for respondents in a stratum whose target share is zero.
    """
    factor = poststratification_factors(Counter(strata), targets)
    return [factor[s] for s in strata]


def poststratification_factors(
    strata_counts: Mapping[str, int], targets: Mapping[str, float]
) -> dict[str, float]:
    """The weight of each stratum's respondents, from the number of respondents per stratum.

    The same weights as `poststratification_weights` (which is this, applied per respondent),
    and the same errors; strata with a zero count are taken as absent.
    """
    counts = _stratum_counts(strata_counts=strata_counts)
    shares = _target_shares(targets=targets)
    total = math.fsum(shares.values())
    if total <= 0:
        raise ValueError("targets must have a positive sum")
    unknown = sorted((s for s in counts if s not in shares), key=str)
    if unknown:
        raise ValueError(f"respondents in strata missing from the targets: {names(unknown)}")
    empty = sorted((s for s, t in shares.items() if t > 0 and s not in counts), key=str)
    if empty:
        raise ValueError(f"target strata with no respondents: {names(empty)}")
    zero = sorted((s for s in counts if shares[s] == 0), key=str)
    if zero:
        raise ValueError(f"respondents in strata with a zero target share: {names(zero)}")
    n = sum(counts.values())
    return {s: (shares[s] / total) * n / c for s, c in counts.items()}


def _stratum_counts(*, strata_counts: Mapping[str, int]) -> dict[str, int]:
    """The non-zero counts as ints; ValueError for a count that is not a non-negative integer."""
    counts: dict[str, int] = {}
    for name, count in strata_counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"count of stratum {name!r} must be a non-negative integer")
        if count:
            counts[name] = int(count)
    if not counts:
        raise ValueError("no respondents to weight")
    return counts


def _target_shares(*, targets: Mapping[str, float]) -> dict[str, float]:
    """The targets as a dict; ValueError for a target that is not a finite non-negative number."""
    shares = dict(targets)
    for name, value in shares.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"target for stratum {name!r} must be a non-negative number")
    return shares
