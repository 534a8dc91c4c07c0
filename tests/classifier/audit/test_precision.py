"""The pure precision helpers against statsmodels' Wilson interval."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from classifier.audit.precision import lower_bound, precision_at, threshold_choose


def _lower(hits: int, n: int) -> float:
    return float(proportion_confint(hits, n, alpha=0.10, method="wilson")[0])


def test_precision_at_matches_a_wilson_interval():
    items = [(0.9, True), (0.8, True), (0.7, False), (0.95, True), (0.6, False)]
    result = precision_at(items, 0.75)
    low, high = proportion_confint(3, 3, alpha=0.05, method="wilson")
    assert (result.n, result.estimate) == (3, 1.0)
    assert result.low == pytest.approx(low) and result.high == pytest.approx(high)
    assert precision_at(items, 0.99).n == 0 and precision_at(items, None).estimate is None


def test_threshold_is_the_lowest_whose_one_sided_bound_reaches_the_target():
    # 60 right answers at 0.9-0.96, then answers below 0.5, one right in three.
    items = [(0.9 + i / 1000, True) for i in range(60)] + [
        (0.4 + i / 1000, i % 3 == 0) for i in range(40)
    ]
    threshold, bound = threshold_choose(items, 0.9)
    qualifying = []
    for t in sorted({c for c, _ in items}):
        chosen = [ok for c, ok in items if c >= t]
        if _lower(sum(chosen), len(chosen)) >= 0.9:
            qualifying.append((t, _lower(sum(chosen), len(chosen))))
    assert qualifying and threshold == pytest.approx(qualifying[0][0])
    assert bound == pytest.approx(qualifying[0][1])
    assert threshold < 0.9  # a few right answers just below still keep the bound up
    assert lower_bound(0, 0) == 0.0


def test_no_threshold_when_the_audit_is_too_small_to_show_the_target():
    assert threshold_choose([(0.99, True), (0.98, True)], 0.9) == (None, None)
