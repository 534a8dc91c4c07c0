"""Inter-coder agreement for nominal codes: Cohen's kappa, Krippendorff's alpha, raw agreement.

Plain Python, no Django: values are any hashable codes (a multi-label coding is compared as one
nominal value, e.g. a sorted tuple of its labels). Undefined statistics are returned as NaN.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of items on which two codings agree; NaN when there are no items."""
    _check_paired(a, b)
    if not a:
        return math.nan
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two codings of the same items; NaN when chance agreement is total."""
    _check_paired(a, b)
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if math.isclose(expected, 1.0):
        return math.nan
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha_nominal(data: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha (nominal) of a coders x units matrix with None for missing codes.

    Units coded by fewer than two coders carry no information about agreement and are ignored.
    NaN when fewer than two pairable values exist or all pairable values are the same.
    """
    if not data:
        return math.nan
    width = len(data[0])
    if any(len(row) != width for row in data):
        raise ValueError("every coder's row must have one entry per unit")
    coincidence: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for unit in range(width):
        values = [row[unit] for row in data if row[unit] is not None]
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    coincidence[(c, k)] += pairs / (m - 1)
    marginals: defaultdict[Hashable, float] = defaultdict(float)
    for (c, _k), weight in coincidence.items():
        marginals[c] += weight
    n = sum(marginals.values())
    if n < 2 or len(marginals) < 2:
        return math.nan
    disagreement = sum(w for (c, k), w in coincidence.items() if c != k)
    expected = (n * n - sum(v * v for v in marginals.values())) / (n - 1)
    return 1.0 - disagreement / expected


def _check_paired(a: Sequence[Hashable], b: Sequence[Hashable]) -> None:
    if len(a) != len(b):
        raise ValueError(f"paired codings differ in length: {len(a)} and {len(b)}")
