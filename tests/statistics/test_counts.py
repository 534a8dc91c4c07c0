"""Counts-based tables (`*_from_counts`) against the per-respondent ones and an independent count.

The statistics API groups respondents by their codes in SQL and hands the core counts per cell
(with weight sums and sums of squares when weighting), so these tests check that nothing is lost
on the way: the same cells, suppression (small-cell and complementary), margins, missing counts,
percentages and intervals as the per-respondent functions, and as numpy/statsmodels computed
from the respondents directly.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from surveys.statistics.estimators import poststratification_factors, poststratification_weights
from surveys.statistics.published import CrossTable
from surveys.statistics.tables import (
    crosstab,
    crosstab_from_counts,
    frequency_table,
    frequency_table_from_counts,
)

FAST = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])

ks = st.integers(min_value=5, max_value=15)
rows_codes = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))
cols_codes = st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))
strata_codes = st.one_of(st.none(), st.sampled_from(["s1", "s2", "s3"]))
positive_weights = st.floats(min_value=0.05, max_value=20.0, allow_nan=False, allow_infinity=False)


@st.composite
def respondents(draw: st.DrawFn) -> list[tuple[str | None, str | None, str | None]]:
    """Respondents (row code, column code, stratum); runs of equal ones make cells of any size."""
    runs = draw(
        st.lists(
            st.tuples(rows_codes, cols_codes, strata_codes, st.integers(1, 25)),
            min_size=0,
            max_size=14,
        )
    )
    return [(r, c, s) for r, c, s, n in runs for _ in range(n)]


def _assert_tables_equal(left: dict[str, Any], right: dict[str, Any], *, exact: bool) -> None:
    """Equal JSON tables: counts, masks and categories exactly, floats exactly or to 1e-9."""
    assert type(left) is type(right)
    if isinstance(left, dict):
        assert left.keys() == right.keys()
        for key in left:
            _assert_tables_equal(left[key], right[key], exact=exact)
    elif isinstance(left, list):
        assert len(left) == len(right)
        for a, b in zip(left, right, strict=True):
            _assert_tables_equal(a, b, exact=exact)
    elif isinstance(left, float) and not exact:
        assert left == pytest.approx(right, rel=1e-9, abs=1e-9)
    else:
        assert left == right


def _weighted_counts(
    keys: list[Any], weights: list[float] | None
) -> tuple[Counter[Any], dict[Any, float] | None, dict[Any, float] | None]:
    counts: Counter[Any] = Counter(keys)
    if weights is None:
        return counts, None, None
    sums: dict[Any, float] = {}
    squares: dict[Any, float] = {}
    for key, w in zip(keys, weights, strict=True):
        sums[key] = sums.get(key, 0.0) + w
        squares[key] = squares.get(key, 0.0) + w * w
    return counts, sums, squares


# --- the counts path equals the per-respondent path -----------------------------------------


@FAST
@given(people=respondents(), k=ks, weighted=st.booleans(), data=st.data())
def test_crosstab_from_counts_equals_the_per_respondent_crosstab(
    people: list[tuple[str | None, str | None, str | None]], k: int, weighted: bool, data: Any
) -> None:
    rows = [r for r, _, _ in people]
    cols = [c for _, c, _ in people]
    weights = (
        data.draw(st.lists(positive_weights, min_size=len(people), max_size=len(people)))
        if weighted
        else None
    )
    expected = crosstab(rows, cols, weights=weights, k=k, col_categories="xyz")
    counts, sums, squares = _weighted_counts(list(zip(rows, cols, strict=True)), weights)
    table = crosstab_from_counts(
        counts, weight_sums=sums, weight_squares=squares, k=k, col_categories="xyz"
    )
    _assert_tables_equal(table.as_dict(), expected.as_dict(), exact=not weighted)
    assert json.dumps(table.as_dict(), allow_nan=False)


@FAST
@given(people=respondents(), k=ks, weighted=st.booleans(), data=st.data())
def test_frequency_from_counts_equals_the_per_respondent_table(
    people: list[tuple[str | None, str | None, str | None]], k: int, weighted: bool, data: Any
) -> None:
    values = [r for r, _, _ in people]
    weights = (
        data.draw(st.lists(positive_weights, min_size=len(people), max_size=len(people)))
        if weighted
        else None
    )
    expected = frequency_table(values, weights=weights, k=k, categories="abcd")
    counts, sums, squares = _weighted_counts(values, weights)
    table = frequency_table_from_counts(
        counts, weight_sums=sums, weight_squares=squares, k=k, categories="abcd"
    )
    _assert_tables_equal(table.as_dict(), expected.as_dict(), exact=not weighted)


@FAST
@given(people=respondents(), k=ks, shares=st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3))
def test_post_stratified_crosstab_from_stratum_counts(
    people: list[tuple[str | None, str | None, str | None]], k: int, shares: list[float]
) -> None:
    """What the API does: count by (row, column, stratum), weight each group by its stratum."""
    kept = [(r, c, s) for r, c, s in people if s is not None]
    targets = dict(zip(["s1", "s2", "s3"], shares, strict=True))
    present = {s for _, _, s in kept}
    targets = {s: share for s, share in targets.items() if s in present}
    if not kept:
        return
    # Per respondent: the weights of poststratification_weights.
    weights = poststratification_weights([s for _, _, s in kept], targets)  # type: ignore[misc]
    expected = crosstab([r for r, _, _ in kept], [c for _, c, _ in kept], weights=weights, k=k)
    # Per group: n respondents of a stratum weigh n * factor, their squares n * factor^2.
    groups = Counter(kept)
    strata_counts: Counter[str] = Counter()
    for (_, _, s), n in groups.items():
        strata_counts[s] += n  # type: ignore[index]
    factors = poststratification_factors(strata_counts, targets)
    counts: Counter[Any] = Counter()
    sums: dict[Any, float] = {}
    squares: dict[Any, float] = {}
    for (r, c, s), n in groups.items():
        f = factors[s]  # type: ignore[index]
        counts[r, c] += n
        sums[r, c] = sums.get((r, c), 0.0) + n * f
        squares[r, c] = squares.get((r, c), 0.0) + n * f * f
    table = crosstab_from_counts(counts, weight_sums=sums, weight_squares=squares, k=k)
    _assert_tables_equal(table.as_dict(), expected.as_dict(), exact=False)


strata_lists = st.lists(st.sampled_from(["a", "b", "c"]), max_size=30)
target_maps = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.one_of(st.just(0.0), st.floats(0.01, 5.0)),
    max_size=4,
)


@FAST
@given(strata=strata_lists, targets=target_maps)
def test_stratum_factors_give_the_per_respondent_weights_and_the_same_errors(
    strata: list[str], targets: dict[str, float]
) -> None:
    try:
        weights = poststratification_weights(strata, targets)
    except ValueError as error:
        with pytest.raises(ValueError) as raised:
            poststratification_factors(Counter(strata), targets)
        assert str(raised.value) == str(error)
        return
    factors = poststratification_factors(Counter(strata), targets)
    assert [factors[s] for s in strata] == weights  # bit for bit


# --- the counts path against an independent computation -------------------------------------


def _wilson(count: float, nobs: float) -> list[float]:
    low, high = proportion_confint(count, nobs, alpha=0.05, method="wilson")
    return [100 * low, 100 * high]


@FAST
@given(people=respondents(), k=ks, weighted=st.booleans(), data=st.data())
def test_crosstab_from_counts_against_an_independent_computation(
    people: list[tuple[str | None, str | None, str | None]], k: int, weighted: bool, data: Any
) -> None:
    n = len(people)
    w = np.asarray(
        data.draw(st.lists(positive_weights, min_size=n, max_size=n)) if weighted else [1.0] * n
    )
    counts, sums, squares = _weighted_counts(
        [(r, c) for r, c, _ in people], list(w) if weighted else None
    )
    table = crosstab_from_counts(
        counts,
        weight_sums=sums,
        weight_squares=squares,
        row_categories="abcd",
        col_categories="xyz",
        k=k,
    )
    complete = [i for i, (r, c, _) in enumerate(people) if r is not None and c is not None]
    x = np.zeros((4, 3), dtype=int)
    xw = np.zeros((4, 3))
    for i in complete:
        r, c, _ = people[i]
        x["abcd".index(r), "xyz".index(c)] += 1  # type: ignore[arg-type]
        xw["abcd".index(r), "xyz".index(c)] += w[i]  # type: ignore[arg-type]
    rows_n = x.sum(axis=1)

    # Disclosure control: no small figure published, none recoverable from a single line.
    _assert_crosstab_disclosure(table, x, xw, k=k, answered=len(complete))
    missing = n - len(complete)
    assert table.missing == (None if 0 < missing < k else missing)

    # Row percentages and their Wilson intervals (Kish n of the row's respondents, weighted).
    for i, r in enumerate("abcd"):
        if table.row_totals[i].suppressed or rows_n[i] == 0:
            continue
        members = [p for p in complete if people[p][0] == r]
        kish = w[members].sum() ** 2 / (w[members] ** 2).sum()
        for j in range(3):
            cell = table.cells[i][j]
            if cell.suppressed:
                continue
            share = xw[i, j] / xw[i].sum()
            assert cell.percent == pytest.approx(100 * share)
            expected = _wilson(share * kish, kish) if weighted else _wilson(x[i, j], rows_n[i])
            assert [cell.ci_low, cell.ci_high] == pytest.approx(expected, abs=1e-9)


def _assert_crosstab_disclosure(
    table: CrossTable, x: np.ndarray, xw: np.ndarray, *, k: int, answered: int
) -> None:
    """No published figure of the 4 x 3 table is small or wrong; none is one line's only hidden."""
    rows_n, cols_n = x.sum(axis=1), x.sum(axis=0)
    for i in range(4):
        for j in range(3):
            cell = table.cells[i][j]
            assert not (0 < x[i, j] < k) or cell.suppressed
            assert not (cell.suppressed and x[i, j] == 0)  # zeros are never hidden
            if not cell.suppressed:
                assert cell.n == x[i, j]
                assert cell.weighted_n == pytest.approx(xw[i, j])
    for i, total in enumerate(table.row_totals):
        assert not (0 < rows_n[i] < k) or total.suppressed
        if not total.suppressed:
            assert total.n == rows_n[i]
            assert sum(cell.suppressed for cell in table.cells[i]) != 1
    for j, total in enumerate(table.col_totals):
        assert not (0 < cols_n[j] < k) or total.suppressed
        if not total.suppressed:
            assert total.n == cols_n[j]
            assert sum(table.cells[i][j].suppressed for i in range(4)) != 1
    if not table.total.suppressed:
        assert table.total.n == answered
        assert sum(t.suppressed for t in table.row_totals) != 1
        assert sum(t.suppressed for t in table.col_totals) != 1


def test_counts_are_checked() -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        frequency_table_from_counts({"a": -1})
    with pytest.raises(ValueError, match="non-negative integer"):
        frequency_table_from_counts({"a": 2.5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="go together"):
        frequency_table_from_counts({"a": 3}, weight_sums={"a": 3.0})
    with pytest.raises(ValueError, match="no respondents"):
        frequency_table_from_counts({"a": 0}, weight_sums={"a": 1.0}, weight_squares={"a": 1.0})
    with pytest.raises(ValueError, match="positive, finite"):
        frequency_table_from_counts({"a": 2}, weight_sums={"a": 0.0}, weight_squares={"a": 0.0})
    with pytest.raises(ValueError, match=r"\(row, column\) pairs"):
        crosstab_from_counts({"a": 2})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="not among the categories"):
        crosstab_from_counts({("a", "q"): 2}, col_categories=["x"])
    # Zero counts are absent values: no category of their own, no error.
    table = frequency_table_from_counts({"a": 12, "b": 0, None: 0}, k=5)
    assert table.categories == ("a",) and table.missing == 0
    assert math.isclose(table.cells[0].percent or 0, 100.0)
