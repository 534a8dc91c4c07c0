"""The statistics core, checked against independent implementations and by brute force.

Independent references: statsmodels (Wilson intervals, DescrStatsW, a robust WLS fit), scipy (t
intervals, integer linear programs for disclosure checks), numpy and collections (counting).
No database is needed.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats
from scipy.optimize import linprog
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from surveys.statistics.disclosure import (
    OneWaySuppression,
    Suppression,
    suppress,
    suppress_one_way,
)
from surveys.statistics.estimators import (
    MeanEstimate,
    kish_effective_n,
    mean_interval,
    poststratification_weights,
    wilson_interval,
)
from surveys.statistics.published import CrossTable, FrequencyTable
from surveys.statistics.tables import crosstab, frequency_table

FAST = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])

confidences = st.sampled_from([0.8, 0.9, 0.95, 0.99])
ks = st.integers(min_value=5, max_value=20)
# Counts that mix zeros, values under every k, and comfortable values, so that every rule fires.
count_values = st.one_of(st.just(0), st.integers(1, 12), st.integers(1, 60))
reasonable_floats = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
positive_weights = st.floats(min_value=0.05, max_value=20.0, allow_nan=False, allow_infinity=False)


@st.composite
def count_tables(draw: st.DrawFn, max_side: int = 6) -> NDArray[np.int64]:
    rows = draw(st.integers(1, max_side))
    cols = draw(st.integers(1, max_side))
    cells = draw(st.lists(count_values, min_size=rows * cols, max_size=rows * cols))
    return np.asarray(cells, dtype=np.int64).reshape(rows, cols)


@st.composite
def values_and_weights(draw: st.DrawFn, min_size: int = 2) -> tuple[list[float], list[float]]:
    size = draw(st.integers(min_size, 40))
    values = draw(st.lists(reasonable_floats, min_size=size, max_size=size))
    weights = draw(st.lists(positive_weights, min_size=size, max_size=size))
    return values, weights


# --- Wilson ---------------------------------------------------------------------------------


@FAST
@given(n=st.integers(1, 100_000), fraction=st.floats(0, 1), confidence=confidences)
def test_wilson_matches_statsmodels_on_integer_counts(
    n: int, fraction: float, confidence: float
) -> None:
    successes = round(fraction * n)
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert wilson_interval(successes, n, confidence=confidence) == pytest.approx(
        (low, high), abs=1e-12
    )


@FAST
@given(n=st.floats(0.5, 5_000, allow_nan=False), fraction=st.floats(0, 1), confidence=confidences)
def test_wilson_matches_statsmodels_on_a_fractional_effective_n(
    n: float, fraction: float, confidence: float
) -> None:
    successes = fraction * n
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    ours = wilson_interval(successes, n, confidence=confidence)
    assert ours == pytest.approx((max(low, 0.0), min(high, 1.0)), abs=1e-12)
    assert ours is not None and 0 <= ours[0] <= successes / n <= ours[1] <= 1


def test_wilson_without_observations_is_none_and_bad_input_is_refused() -> None:
    assert wilson_interval(0, 0) is None
    assert wilson_interval(0, 10) is not None and wilson_interval(0, 10)[0] == 0.0  # type: ignore[index]
    assert wilson_interval(10, 10) is not None and wilson_interval(10, 10)[1] == 1.0  # type: ignore[index]
    for successes, n in [(11, 10), (-1, 10), (1, -1), (math.nan, 10), (1, math.inf)]:
        with pytest.raises(ValueError):
            wilson_interval(successes, n)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.0)


# --- Kish -----------------------------------------------------------------------------------


@FAST
@given(weights=st.lists(positive_weights, min_size=1, max_size=50))
def test_kish_effective_n_follows_the_formula(weights: list[float]) -> None:
    w = np.asarray(weights)
    expected = w.sum() ** 2 / (w**2).sum()
    assert kish_effective_n(weights) == pytest.approx(expected, rel=1e-12)
    assert 1 - 1e-9 <= kish_effective_n(weights) <= len(weights) + 1e-9
    assert kish_effective_n([x * 7.5 for x in weights]) == pytest.approx(expected, rel=1e-9)


def test_kish_effective_n_edge_cases() -> None:
    assert kish_effective_n([2.0] * 9) == pytest.approx(9)
    assert kish_effective_n([1, 1, 2]) == pytest.approx(16 / 6)
    assert kish_effective_n([]) == 0.0
    assert kish_effective_n([0.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="negative"):
        kish_effective_n([1.0, -1.0])
    with pytest.raises(ValueError, match="finite"):
        kish_effective_n([1.0, math.nan])


# --- means ----------------------------------------------------------------------------------


@FAST
@given(values=st.lists(reasonable_floats, min_size=2, max_size=60), confidence=confidences)
def test_unweighted_mean_interval_matches_scipy_and_statsmodels(
    values: list[float], confidence: float
) -> None:
    y = np.asarray(values)
    estimate = mean_interval(values, confidence=confidence)
    assert estimate.mean == pytest.approx(y.mean(), rel=1e-12, abs=1e-9)
    assert estimate.sd == pytest.approx(np.std(y, ddof=1), rel=1e-9, abs=1e-9)
    assert estimate.n == len(values) and estimate.n_effective == len(values)
    with np.errstate(invalid="ignore"):  # scipy multiplies inf by a zero sem for equal values
        scipy_low, scipy_high = stats.t.interval(
            confidence, len(y) - 1, loc=y.mean(), scale=stats.sem(y)
        )
    sm_low, sm_high = DescrStatsW(y).tconfint_mean(alpha=1 - confidence)
    for low, high in [(scipy_low, scipy_high), (sm_low, sm_high)]:
        if math.isnan(low):  # scipy returns NaN for a zero-width interval (all values equal)
            low = high = y.mean()
        assert estimate.low == pytest.approx(low, rel=1e-9, abs=1e-9)
        assert estimate.high == pytest.approx(high, rel=1e-9, abs=1e-9)


def test_mean_interval_with_too_little_data() -> None:
    assert mean_interval([]) == MeanEstimate(None, None, None, 0, None, 0.0, 0.95, False)
    one = mean_interval([4.0, None])
    assert (one.mean, one.low, one.high, one.n, one.sd) == (4.0, None, None, 1, None)
    # Two observations, but one weight dominates: Kish n < 2 leaves no degrees of freedom.
    lopsided = mean_interval([1.0, 2.0], [1.0, 100.0])
    assert lopsided.n == 2 and lopsided.low is None and lopsided.high is None
    assert json.dumps(lopsided.as_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="weights"):
        mean_interval([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        mean_interval([1.0, 2.0], [1.0, 0.0])


def test_mean_interval_drops_missing_values_with_their_weights() -> None:
    with_missing = mean_interval([1.0, None, 3.0, 8.0], [1.0, 50.0, 2.0, 1.0])
    without = mean_interval([1.0, 3.0, 8.0], [1.0, 2.0, 1.0])
    assert with_missing == without


@FAST
@given(data=values_and_weights())
def test_weighted_mean_point_estimate_equals_descrstatsw(
    data: tuple[list[float], list[float]],
) -> None:
    values, weights = data
    assert mean_interval(values, weights).mean == DescrStatsW(values, weights=weights).mean


@FAST
@given(data=values_and_weights(min_size=3), confidence=confidences)
def test_weighted_mean_interval_uses_the_linearisation_standard_error(
    data: tuple[list[float], list[float]], confidence: float
) -> None:
    """Reference: the linearisation SE of a weighted mean is the HC1 sandwich SE of the constant
    in a WLS regression on a constant alone (statsmodels), so the interval must be that SE times
    the t quantile on Kish n - 1 degrees of freedom."""
    values, weights = data
    estimate = mean_interval(values, weights, confidence=confidence)
    n_eff = kish_effective_n(weights)
    if n_eff < 2:
        assert estimate.low is None
        return
    fit = sm.WLS(np.asarray(values), np.ones(len(values)), weights=weights).fit(cov_type="HC1")
    half = stats.t.isf((1 - confidence) / 2, n_eff - 1) * fit.bse[0]
    assert estimate.mean == pytest.approx(fit.params[0], rel=1e-9, abs=1e-9)
    assert estimate.low == pytest.approx(fit.params[0] - half, rel=1e-7, abs=1e-7)
    assert estimate.high == pytest.approx(fit.params[0] + half, rel=1e-7, abs=1e-7)
    assert estimate.n_effective == pytest.approx(n_eff)


@FAST
@given(values=st.lists(reasonable_floats, min_size=2, max_size=40), weight=positive_weights)
def test_equal_weights_reproduce_the_unweighted_interval(
    values: list[float], weight: float
) -> None:
    weighted = mean_interval(values, [weight] * len(values))
    plain = mean_interval(values)
    for ours, reference in [
        (weighted.mean, plain.mean),
        (weighted.low, plain.low),
        (weighted.high, plain.high),
        (weighted.sd, plain.sd),
    ]:
        assert ours == pytest.approx(reference, rel=1e-7, abs=1e-7)


def test_weighted_mean_interval_covers_the_population_mean_at_the_nominal_rate() -> None:
    """Simulation (fixed seed): Poisson sampling with probability proportional to a size variable
    that drives the outcome, weights 1 / probability, about 200 respondents per sample out of
    20,000. Over 2,000 samples the 95% interval should contain the population mean 93-97% of the
    time (the Monte Carlo standard error is about 0.5 points)."""
    rng = np.random.default_rng(20240611)
    population = 20_000
    size = rng.gamma(2.0, 1.0, population) + 0.2
    outcome = 10 + 3 * size + rng.normal(0, 4, population)
    probability = 200 * size / size.sum()
    covered = 0
    repetitions = 2_000
    for _ in range(repetitions):
        taken = rng.random(population) < probability
        estimate = mean_interval(outcome[taken].tolist(), (1 / probability[taken]).tolist())
        assert estimate.low is not None and estimate.high is not None
        covered += estimate.low <= outcome.mean() <= estimate.high
    assert 0.93 <= covered / repetitions <= 0.97


# --- post-stratification --------------------------------------------------------------------


@FAST
@given(
    strata=st.lists(st.sampled_from(["film", "games", "ads", "music"]), min_size=1, max_size=80),
    raw_targets=st.lists(st.floats(0.1, 50), min_size=4, max_size=4),
)
def test_poststratification_weights_hit_the_targets_and_average_one(
    strata: list[str], raw_targets: list[float]
) -> None:
    present = sorted(set(strata))
    targets = dict(zip(present, raw_targets, strict=False))
    weights = poststratification_weights(strata, targets)
    assert len(weights) == len(strata)
    assert np.mean(weights) == pytest.approx(1.0)
    total_target = sum(targets.values())
    for stratum in present:
        share = sum(w for w, s in zip(weights, strata, strict=True) if s == stratum) / len(strata)
        assert share == pytest.approx(targets[stratum] / total_target)
    normalised = {s: t / total_target for s, t in targets.items()}
    assert poststratification_weights(strata, normalised) == pytest.approx(weights)


def test_poststratification_weights_refuse_strata_that_do_not_line_up() -> None:
    with pytest.raises(ValueError, match="missing from the targets: 'games', 'music'"):
        poststratification_weights(["film", "games", "music"], {"film": 1.0})
    with pytest.raises(ValueError, match="no respondents: 'ads'"):
        poststratification_weights(["film", "film"], {"film": 0.5, "ads": 0.5})
    with pytest.raises(ValueError, match="zero target share: 'ads'"):
        poststratification_weights(["film", "ads"], {"film": 1.0, "ads": 0.0})
    with pytest.raises(ValueError, match="no respondents to weight"):
        poststratification_weights([], {"film": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        poststratification_weights(["film"], {"film": -1.0})
    # A zero-target stratum nobody is in is harmless.
    assert poststratification_weights(["film", "ads"], {"film": 1, "ads": 3, "vfx": 0}) == [
        pytest.approx(0.5),
        pytest.approx(1.5),
    ]


# --- suppression: rules and properties ------------------------------------------------------


@pytest.mark.parametrize("k", [4, 0, -5, 5.0, True, "10", None])
def test_k_must_be_an_integer_of_at_least_five(k: object) -> None:
    with pytest.raises(ValueError, match="k must be at least 5"):
        suppress([[10, 10]], k=k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be at least 5"):
        suppress_one_way([10, 10], k=k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be at least 5"):
        frequency_table(["a"], k=k)  # type: ignore[arg-type]


def test_suppress_refuses_tables_that_are_not_counts() -> None:
    for bad in [[[1.5, 2]], [[-1, 2]], [1, 2], [[[1]]]]:
        with pytest.raises(ValueError):
            suppress(bad, k=5)


def _assert_safe(x: NDArray[np.int64], k: int, mask: Suppression) -> None:
    """Properties (a)-(c), plus: zeros are never suppressed and totals below k are."""
    rows, cols, grand = x.sum(axis=1), x.sum(axis=0), int(x.sum())
    # (a) nothing published is a small non-zero count, cell or total
    assert not np.any(~mask.cells & (x > 0) & (x < k))
    assert not np.any(~mask.row_totals & (rows > 0) & (rows < k))
    assert not np.any(~mask.col_totals & (cols > 0) & (cols < k))
    assert mask.grand_total or not 0 < grand < k
    assert not np.any(mask.cells & (x == 0))
    # (b) a line with a published total hides no cell, or at least two
    for i in range(x.shape[0]):
        if not mask.row_totals[i]:
            assert mask.cells[i].sum() != 1
    for j in range(x.shape[1]):
        if not mask.col_totals[j]:
            assert mask.cells[:, j].sum() != 1
    # (c) the margins against a published grand total, likewise
    if not mask.grand_total:
        assert mask.row_totals.sum() != 1
        assert mask.col_totals.sum() != 1


@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(x=count_tables(), k=ks)
def test_suppression_leaves_no_small_cell_and_no_lone_suppression(
    x: NDArray[np.int64], k: int
) -> None:
    _assert_safe(x, k, suppress(x, k=k))


@FAST
@given(x=count_tables(), k=ks, extra=st.data())
def test_suppression_is_idempotent_and_never_lifts_a_suppression(
    x: NDArray[np.int64], k: int, extra: st.DataObject
) -> None:
    first = suppress(x, k=k)
    assert suppress(x, k=k, initial=first) == first
    assert suppress(x, k=k) == first  # deterministic
    # Start from arbitrary extra (non-zero) suppressions: all of them survive, and the primary ones.
    rows, cols = x.sum(axis=1), x.sum(axis=0)
    flips = extra.draw(st.lists(st.booleans(), min_size=x.size, max_size=x.size))
    initial = Suppression(
        cells=np.asarray(flips).reshape(x.shape) & (x > 0),
        row_totals=np.asarray(
            extra.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
        )
        & (rows > 0),
        col_totals=np.asarray(
            extra.draw(st.lists(st.booleans(), min_size=len(cols), max_size=len(cols)))
        )
        & (cols > 0),
        grand_total=extra.draw(st.booleans()) and x.sum() > 0,
    )
    result = suppress(x, k=k, initial=initial)
    assert np.all(result.cells >= initial.cells)
    assert np.all(result.row_totals >= initial.row_totals)
    assert np.all(result.col_totals >= initial.col_totals)
    assert result.grand_total >= initial.grand_total
    assert np.all(result.cells >= ((x > 0) & (x < k)))
    _assert_safe(x, k, result)
    assert suppress(x, k=k, initial=result) == result


def test_initial_suppression_must_fit_the_table() -> None:
    x = np.array([[10, 0], [10, 10]])
    zero = Suppression(
        np.array([[False, True], [False, False]]), np.zeros(2, bool), np.zeros(2, bool), False
    )
    with pytest.raises(ValueError, match="zero counts"):
        suppress(x, k=5, initial=zero)
    wrong = Suppression(np.zeros((3, 2), bool), np.zeros(3, bool), np.zeros(2, bool), False)
    with pytest.raises(ValueError, match="shape"):
        suppress(x, k=5, initial=wrong)


# --- suppression: brute force on the published linear system --------------------------------


def _ranges(x: NDArray[np.int64], mask: Suppression) -> list[tuple[str, float, float, int]]:
    """For each suppressed cell and total: the least and greatest value it can take over all
    non-negative integer tables that agree with every published cell and total (integer
    programs via scipy's HiGHS), with its true value."""
    hidden = [tuple(int(v) for v in cell) for cell in zip(*np.nonzero(mask.cells), strict=True)]
    position = {cell: index for index, cell in enumerate(hidden)}
    rows, cols = x.shape
    grand = int(x.sum())

    def line(cells: list[tuple[int, int]]) -> tuple[NDArray[np.float64], int]:
        coefficients = np.zeros(len(hidden))
        known = 0
        for cell in cells:
            if cell in position:
                coefficients[position[cell]] = 1
            else:
                known += int(x[cell])
        return coefficients, known

    row_cells = [[(i, j) for j in range(cols)] for i in range(rows)]
    col_cells = [[(i, j) for i in range(rows)] for j in range(cols)]
    all_cells = [cell for cells in row_cells for cell in cells]
    equations, targets = [], []
    published = [
        (cells, total)
        for cells, total, hid in zip(row_cells, x.sum(axis=1), mask.row_totals, strict=True)
        if not hid
    ]
    published += [
        (cells, total)
        for cells, total, hid in zip(col_cells, x.sum(axis=0), mask.col_totals, strict=True)
        if not hid
    ]
    if not mask.grand_total:
        published.append((all_cells, grand))
    for cells, total in published:
        coefficients, known = line(cells)
        equations.append(coefficients)
        targets.append(int(total) - known)

    objectives: list[tuple[str, list[tuple[int, int]], int]] = [
        (f"cell {cell}", [cell], int(x[cell])) for cell in hidden
    ]
    objectives += [
        (f"row {i}", row_cells[i], int(x[i].sum())) for i in np.flatnonzero(mask.row_totals)
    ]
    objectives += [
        (f"col {j}", col_cells[j], int(x[:, j].sum())) for j in np.flatnonzero(mask.col_totals)
    ]
    if mask.grand_total:
        objectives.append(("grand", all_cells, grand))

    results = []
    for name, cells, truth in objectives:
        coefficients, known = line(cells)
        if not coefficients.any():
            results.append((name, known, known, truth))
            continue
        bounds = []
        for sign in (1, -1):
            solution = linprog(
                sign * coefficients,
                A_eq=np.asarray(equations) if equations else None,
                b_eq=np.asarray(targets) if targets else None,
                bounds=(0, grand),  # generous: the attacker is even told the grand total
                integrality=np.ones(len(hidden)),
                method="highs",
            )
            assert solution.status == 0, solution.message
            bounds.append(known + sign * solution.fun)
        results.append((name, bounds[0], bounds[1], truth))
    return results


def _assert_nothing_recoverable(x: NDArray[np.int64], mask: Suppression) -> None:
    for name, low, high, truth in _ranges(x, mask):
        assert low - 1e-6 <= truth <= high + 1e-6, (name, low, high, truth)
        assert high - low >= 1 - 1e-6, f"{name} is pinned to {truth} by the published figures\n{x}"


@SLOW
@given(x=count_tables(max_side=4), k=ks)
def test_no_suppressed_cell_or_total_can_be_solved_for(x: NDArray[np.int64], k: int) -> None:
    _assert_nothing_recoverable(x, suppress(x, k=k))


def test_the_lp_check_catches_a_single_line_subtraction() -> None:
    x = np.array([[3, 20, 15], [12, 30, 22], [9, 25, 40]])
    primary_only = Suppression((x > 0) & (x < 5), np.zeros(3, bool), np.zeros(3, bool), False)
    with pytest.raises(AssertionError, match="pinned"):
        _assert_nothing_recoverable(x, primary_only)


def test_a_textbook_table() -> None:
    x = np.array([[3, 20, 15], [12, 30, 2], [0, 25, 40]])
    mask = suppress(x, k=5)
    # 3 and 2 are primary; each needs a partner in its row and column: 12 and 15 close the cycle.
    assert mask.cells.tolist() == [[True, False, True], [True, False, True], [False, False, False]]
    assert not mask.row_totals.any() and not mask.col_totals.any() and not mask.grand_total
    _assert_nothing_recoverable(x, mask)


def test_a_bridge_between_two_blocks_is_closed() -> None:
    """Two blocks of small cells joined by one small cell: every line already holds two or more
    suppressed cells, yet the joining cell is the difference of published sums. The closure step
    must suppress more."""
    x = np.array(
        [
            [2, 2, 50, 50],
            [2, 2, 3, 50],
            [50, 50, 2, 2],
            [50, 50, 2, 2],
        ]
    )
    primary = Suppression((x > 0) & (x < 5), np.zeros(4, bool), np.zeros(4, bool), False)
    _assert_safe(x, 5, primary)  # the line rules are satisfied by the primary pattern alone
    with pytest.raises(AssertionError, match=r"cell \(1, 2\) is pinned"):
        _assert_nothing_recoverable(x, primary)
    mask = suppress(x, k=5)
    assert mask.cells.sum() > primary.cells.sum()
    _assert_safe(x, 5, mask)
    _assert_nothing_recoverable(x, mask)


def test_small_totals_are_suppressed_and_protected_through_the_grand_total() -> None:
    x = np.array([[2, 1, 0], [20, 30, 40], [25, 35, 45]])
    mask = suppress(x, k=5)
    assert mask.row_totals[0]  # the row total 3 is below k
    assert mask.row_totals.sum() >= 2 or mask.grand_total  # else 3 = grand - the others
    _assert_safe(x, 5, mask)
    _assert_nothing_recoverable(x, mask)


def test_zeros_are_published_and_an_all_zero_table_hides_nothing() -> None:
    mask = suppress(np.zeros((3, 2), dtype=int), k=5)
    assert not mask.cells.any() and not mask.row_totals.any() and not mask.grand_total
    mask = suppress(np.array([[0, 10], [10, 0]]), k=5)
    assert not mask.cells.any()
    assert json.dumps(mask.as_dict())


# --- one-way suppression --------------------------------------------------------------------


def test_one_way_rules() -> None:
    assert suppress_one_way([3, 40, 12, 0], k=5).as_dict() == {
        "cells": [True, False, True, False],
        "total": False,
    }
    assert suppress_one_way([3, 4, 40], k=5).as_dict() == {
        "cells": [True, True, False],
        "total": False,
    }
    assert suppress_one_way([3, 0], k=5).as_dict() == {"cells": [True, False], "total": True}
    assert suppress_one_way([7, 0], k=5).as_dict() == {"cells": [False, False], "total": False}
    # A total suppressed for another reason must not be the sum of published cells.
    forced = suppress_one_way([7, 9], k=5, initial=OneWaySuppression(np.zeros(2, bool), True))
    assert forced.as_dict() == {"cells": [True, False], "total": True}


@FAST
@given(counts=st.lists(count_values, min_size=1, max_size=10), k=ks)
def test_one_way_suppression_hides_small_counts_and_never_a_lone_one(
    counts: list[int], k: int
) -> None:
    x = np.asarray(counts)
    mask = suppress_one_way(x, k=k)
    assert not np.any(~mask.cells & (x > 0) & (x < k))
    assert not np.any(mask.cells & (x == 0))
    if not mask.total:
        assert mask.cells.sum() != 1
        assert not 0 < x.sum() < k
    assert suppress_one_way(x, k=k, initial=mask) == mask
    # Brute force: with the total published, the hidden cells share one equation.
    hidden = np.flatnonzero(mask.cells)
    objectives = [np.eye(len(hidden))[position] for position in range(len(hidden))]
    if mask.total:
        objectives.append(np.ones(len(hidden)))  # the total = published cells + hidden cells
    for objective in objectives:
        assert objective.any(), "a suppressed total with every cell published"
        spans = []
        for sign in (1, -1):
            solution = linprog(
                sign * objective,
                A_eq=None if mask.total else np.ones((1, len(hidden))),
                b_eq=None if mask.total else [int(x[hidden].sum())],
                bounds=(0, int(x.sum())),
                integrality=np.ones(len(hidden)),
                method="highs",
            )
            assert solution.status == 0
            spans.append(sign * solution.fun)
        assert spans[1] - spans[0] >= 1 - 1e-6


# --- tables ---------------------------------------------------------------------------------


def _published_cells(table: CrossTable) -> list[dict]:
    return [cell for line in table.as_dict()["cells"] for cell in line if not cell["suppressed"]]


labels = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))
col_labels = st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))


@FAST
@given(
    pairs=st.lists(st.tuples(labels, col_labels, positive_weights), min_size=0, max_size=200),
    k=ks,
)
def test_crosstab_counts_match_an_independent_count(
    pairs: list[tuple[str | None, str | None, float]], k: int
) -> None:
    rows = [r for r, _, _ in pairs]
    cols = [c for _, c, _ in pairs]
    weights = [w for _, _, w in pairs]
    table = crosstab(rows, cols, weights=weights, k=k, row_categories="abcd", col_categories="xyz")
    complete = [(r, c, w) for r, c, w in pairs if r is not None and c is not None]
    counted = Counter((r, c) for r, c, _ in complete)
    weighed: dict[tuple[str, str], float] = {}
    for r, c, w in complete:
        weighed[(r, c)] = weighed.get((r, c), 0.0) + w
    x = np.array([[counted[(r, c)] for c in "xyz"] for r in "abcd"])
    mask = suppress(x, k=k)
    for i, r in enumerate("abcd"):
        for j, c in enumerate("xyz"):
            cell = table.cells[i][j]
            assert cell.suppressed == mask.cells[i, j]
            if not cell.suppressed:
                assert cell.n == counted[(r, c)]
                assert cell.weighted_n == pytest.approx(weighed.get((r, c), 0.0))
    for i, r in enumerate("abcd"):
        total = table.row_totals[i]
        if not total.suppressed:
            assert total.n == sum(1 for row, _, _ in complete if row == r)
    for j, c in enumerate("xyz"):
        total = table.col_totals[j]
        if not total.suppressed:
            assert total.n == sum(1 for _, col, _ in complete if col == c)
    if not table.total.suppressed:
        assert table.total.n == len(complete)
        assert table.total.weighted_n == pytest.approx(sum(w for _, _, w in complete))
    missing = len(pairs) - len(complete)
    assert table.missing == (None if 0 < missing < k else missing)
    assert table.missing_suppressed == (0 < missing < k)
    assert json.dumps(table.as_dict(), allow_nan=False)


def test_crosstab_percentages_and_intervals_unweighted() -> None:
    rows = ["film"] * 60 + ["games"] * 40
    cols = ["yes"] * 45 + ["no"] * 15 + ["yes"] * 10 + ["no"] * 30
    table = crosstab(rows, cols, col_categories=["yes", "no"], k=5)
    film_yes = table.cells[0][0]
    assert (film_yes.n, film_yes.weighted_n) == (45, 45.0)
    assert film_yes.percent == pytest.approx(75.0)
    assert film_yes.col_percent == pytest.approx(45 / 55 * 100)
    assert film_yes.total_percent == pytest.approx(45.0)
    low, high = proportion_confint(45, 60, alpha=0.05, method="wilson")
    assert (film_yes.ci_low, film_yes.ci_high) == pytest.approx((100 * low, 100 * high))
    assert table.row_totals[1].n == 40 and table.row_totals[1].percent == pytest.approx(40.0)
    low, high = proportion_confint(40, 100, alpha=0.05, method="wilson")
    assert (table.row_totals[1].ci_low, table.row_totals[1].ci_high) == pytest.approx(
        (100 * low, 100 * high)
    )
    assert table.col_totals[0].n == 55 and table.total.n == 100 and table.total.percent == 100.0
    # A crosstab against numpy's own tabulation.
    reference = np.zeros((2, 2), int)
    np.add.at(
        reference,
        ([{"film": 0, "games": 1}[r] for r in rows], [{"yes": 0, "no": 1}[c] for c in cols]),
        1,
    )
    assert [[cell.n for cell in line] for line in table.cells] == reference.tolist()


def test_crosstab_weighted_intervals_use_the_kish_n_of_the_row() -> None:
    rng = np.random.default_rng(7)
    rows = list(rng.choice(["film", "games"], size=300))
    cols = list(rng.choice(["yes", "no", "unsure"], size=300))
    weights = list(rng.uniform(0.3, 3.0, size=300))
    table = crosstab(rows, cols, weights=weights, k=5, col_categories=["yes", "no", "unsure"])
    w = np.asarray(weights)
    for i, r in enumerate(["film", "games"]):
        in_row = np.asarray(rows) == r
        n_eff = kish_effective_n(w[in_row])
        for j, c in enumerate(["yes", "no", "unsure"]):
            cell = table.cells[i][j]
            in_cell = in_row & (np.asarray(cols) == c)
            p = w[in_cell].sum() / w[in_row].sum()
            assert cell.percent == pytest.approx(100 * p)
            assert cell.col_percent == pytest.approx(
                100 * w[in_cell].sum() / w[np.asarray(cols) == c].sum()
            )
            assert cell.total_percent == pytest.approx(100 * w[in_cell].sum() / w.sum())
            low, high = proportion_confint(p * n_eff, n_eff, alpha=0.05, method="wilson")
            assert (cell.ci_low, cell.ci_high) == pytest.approx((100 * low, 100 * high))
            # Kish n is below the head count, so the weighted interval is the wider one.
            assert cell.ci_high - cell.ci_low > 0
    assert table.weighted and table.total.weighted_n == pytest.approx(w.sum())


def test_suppressed_cells_expose_nothing_and_hidden_denominators_hide_percentages() -> None:
    rows = ["a"] * 3 + ["b"] * 30 + ["b"] * 2 + ["a"] * 40
    cols = ["x"] * 3 + ["x"] * 30 + ["y"] * 2 + ["y"] * 40
    table = crosstab(rows, cols, k=5)
    data = table.as_dict()
    text = json.dumps(data, allow_nan=False)
    assert "NaN" not in text
    numbers = ("n", "weighted_n", "percent", "col_percent", "total_percent", "ci_low", "ci_high")
    for line in data["cells"]:
        for cell in line:
            if cell["suppressed"]:
                assert all(cell[key] is None for key in numbers)
    assert data["cells"][0][0]["suppressed"] and data["cells"][1][1]["suppressed"]
    # Build a table where a row total is suppressed but a zero cell in it is published.
    table = crosstab(
        ["a", "a", "b", "b"] * 10 + ["c", "c"], ["x", "y", "x", "y"] * 10 + ["x", "x"], k=5
    )
    c_row = table.as_dict()["row_totals"][2]
    assert c_row["suppressed"] and c_row["n"] is None
    c_y = table.as_dict()["cells"][2][1]
    assert c_y["n"] == 0 and not c_y["suppressed"]
    assert c_y["percent"] is None and c_y["ci_low"] is None  # 0 / (hidden total), no interval
    _assert_safe(
        np.array([[10, 10], [10, 10], [2, 0]]), 5, suppress([[10, 10], [10, 10], [2, 0]], k=5)
    )


@FAST
@given(
    values=st.lists(st.one_of(st.none(), st.sampled_from(["low", "mid", "high"])), max_size=150),
    k=ks,
)
def test_frequency_table_matches_counter(values: list[str | None], k: int) -> None:
    table = frequency_table(values, categories=["low", "mid", "high", "never"], k=k)
    counted = Counter(v for v in values if v is not None)
    mask = suppress_one_way([counted[c] for c in ["low", "mid", "high", "never"]], k=k)
    answered = sum(counted.values())
    for position, category in enumerate(["low", "mid", "high", "never"]):
        cell = table.cells[position]
        assert cell.suppressed == mask.cells[position]
        if cell.suppressed:
            assert cell == cell.__class__(None, None, None, None, None, None, None, True)
            continue
        assert cell.n == counted[category]
        if not table.total.suppressed and answered:
            assert cell.percent == pytest.approx(100 * counted[category] / answered)
            low, high = proportion_confint(counted[category], answered, alpha=0.05, method="wilson")
            assert (cell.ci_low, cell.ci_high) == pytest.approx((100 * low, 100 * high), abs=1e-9)
        else:
            assert cell.percent is None and cell.ci_low is None
    assert table.total.suppressed == mask.total
    missing = values.count(None)
    assert table.missing == (None if 0 < missing < k else missing)
    assert json.dumps(table.as_dict(), allow_nan=False)


def test_frequency_table_weighted_and_its_dict_shape() -> None:
    values = ["yes"] * 30 + ["no"] * 20 + [None] * 12
    weights = [2.0] * 30 + [0.5] * 20 + [1.0] * 12
    table = frequency_table(values, weights=weights, k=5)
    assert isinstance(table, FrequencyTable) and table.categories == ("no", "yes")
    yes = table.cells[1]
    assert yes.n == 30 and yes.weighted_n == pytest.approx(60.0)
    assert yes.percent == pytest.approx(60 / 70 * 100)
    n_eff = kish_effective_n(weights[:50])
    low, high = proportion_confint(60 / 70 * n_eff, n_eff, alpha=0.05, method="wilson")
    assert (yes.ci_low, yes.ci_high) == pytest.approx((100 * low, 100 * high))
    assert table.missing == 12
    data = table.as_dict()
    assert set(data) == {
        "kind",
        "weighted",
        "k",
        "confidence",
        "categories",
        "cells",
        "total",
        "missing",
        "missing_suppressed",
    }
    assert data["kind"] == "frequency" and data["cells"][1]["category"] == "yes"
    assert set(data["cells"][0]) == {
        "category",
        "n",
        "weighted_n",
        "percent",
        "col_percent",
        "total_percent",
        "ci_low",
        "ci_high",
        "suppressed",
    }
    assert set(data["total"]) == {"n", "weighted_n", "percent", "ci_low", "ci_high", "suppressed"}


def test_tables_refuse_values_outside_the_categories_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="not among the categories: 'maybe'"):
        frequency_table(["yes", "maybe"], categories=["yes", "no"])
    with pytest.raises(ValueError, match="distinct"):
        frequency_table(["yes"], categories=["yes", "yes"])
    with pytest.raises(ValueError, match="2 row values and 1 column values"):
        crosstab(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="weights"):
        crosstab(["a"], ["x"], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        frequency_table(["a"], weights=[0.0])
    empty = crosstab([], [], k=5)
    assert empty.total.n == 0 and empty.total.percent is None and empty.cells == ()
    assert json.dumps(empty.as_dict(), allow_nan=False)
