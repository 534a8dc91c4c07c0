"""Frequency tables and cross-tabulations, weighted or not, with disclosure control applied.

Built from one value per respondent (`frequency_table`, `crosstab`) or from counts per cell
(`frequency_table_from_counts`, `crosstab_from_counts`): the same figures either way.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from surveys.statistics.checks import (
    FloatArray,
    IntArray,
    aligned_weights,
    check_confidence,
    check_k,
    names,
)
from surveys.statistics.disclosure import (
    OneWaySuppression,
    Suppression,
    suppress,
    suppress_one_way,
)
from surveys.statistics.estimators import kish_effective_n, wilson_interval
from surveys.statistics.published import (
    HIDDEN_CELL,
    HIDDEN_TOTAL,
    Cell,
    CrossTable,
    FrequencyTable,
    Total,
)

# The table shapes are named from here by the selectors, the dashboard and notebooks.
__all__ = [
    "crosstab",
    "crosstab_from_counts",
    "frequency_table",
    "frequency_table_from_counts",
]


def _categories(
    values: Sequence[Hashable | None], given: Sequence[Hashable] | None, what: str
) -> tuple[Hashable, ...]:
    present = {value for value in values if value is not None}
    if given is None:
        try:
            # Hashable does not promise an order; values of one kind sort, mixed kinds raise
            # TypeError and fall back to their reprs below.
            return tuple(sorted(present))  # type: ignore[type-var]
        except TypeError:
            return tuple(sorted(present, key=repr))
    categories = tuple(given)
    if None in categories:
        raise ValueError(f"{what} categories must not include None (None marks a missing value)")
    if len(set(categories)) != len(categories):
        raise ValueError(f"{what} categories must be distinct")
    unknown = present.difference(categories)
    if unknown:
        raise ValueError(
            f"{what} values not among the categories: {names(sorted(unknown, key=repr))}"
        )
    return categories


def _share(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole > 0 else None


def _ci(
    count: int, part: float, whole: float, n_eff: float, *, weighted: bool, confidence: float
) -> tuple[float | None, float | None]:
    """Wilson interval (percent) of part/whole: exact counts unweighted, p * Kish n weighted."""
    if whole <= 0:
        return None, None
    if weighted:
        interval = wilson_interval(min(part / whole, 1.0) * n_eff, n_eff, confidence=confidence)
    else:
        interval = wilson_interval(count, whole, confidence=confidence)
    if interval is None:
        return None, None
    return 100.0 * interval[0], 100.0 * interval[1]


def _kish(sums: FloatArray, squares: FloatArray) -> FloatArray:
    """Kish effective n (sum w)^2 / sum w^2 of groups given their sums; 0 for an empty group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(squares > 0, sums * sums / np.where(squares > 0, squares, 1.0), 0.0)


def _weighted_bincount(groups: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Sum of the weights of each group index 0..size-1."""
    # numpy's stubs type bincount's result as integers whatever the weights; with weights it
    # is float64, so this asarray is a no-op at run time that tells the checker so.
    return np.asarray(np.bincount(groups, weights=weights, minlength=size), dtype=np.float64)


def _kish_by_group(groups: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Kish effective n of each group index 0..size-1."""
    sums = _weighted_bincount(groups, weights, size)
    squares = _weighted_bincount(groups, weights * weights, size)
    return _kish(sums, squares)


def _missing(count: int, k: int, hidden_anyway: bool = False) -> tuple[int | None, bool]:
    # Routing can make "did not answer" a small identifiable group, so it follows the cell rule.
    hidden = 0 < count < k or (hidden_anyway and count > 0)
    return (None if hidden else count), hidden


Key = TypeVar("Key", bound=Hashable)
# A value's type, and the row and column values' types of a crosstab: a caller's Counter of
# str | None keys is a Mapping of those keys, not of Hashable | None ones (keys are invariant).
Value = TypeVar("Value", bound=Hashable)
Row = TypeVar("Row", bound=Hashable)
Col = TypeVar("Col", bound=Hashable)


def _checked_counts(
    counts: Mapping[Key, int],
    weight_sums: Mapping[Key, float] | None,
    weight_squares: Mapping[Key, float] | None,
) -> tuple[dict[Key, int], dict[Key, float], dict[Key, float]]:
    """Counts without zeros, with their weight sums and sums of squares (the counts unweighted).

    Every respondent's weight is positive, so a group's weight sum is positive exactly when its
    count is, and its sum of squares too; the rest would describe data no sample can give.
    """
    if (weight_sums is None) != (weight_squares is None):
        raise ValueError("weight_sums and weight_squares go together")
    n_of: dict[Key, int] = {}
    for key, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"count of {key!r} must be a non-negative integer, got {count!r}")
        if count:
            n_of[key] = int(count)
    if weight_sums is None or weight_squares is None:
        unit = {key: float(n) for key, n in n_of.items()}
        return n_of, unit, dict(unit)
    w_of: dict[Key, float] = {}
    w2_of: dict[Key, float] = {}
    for key in {*weight_sums, *weight_squares}:
        if key not in n_of and (weight_sums.get(key, 0.0) or weight_squares.get(key, 0.0)):
            raise ValueError(f"weights given for {key!r}, which has no respondents")
    for key in n_of:
        total = float(weight_sums.get(key, 0.0))
        square = float(weight_squares.get(key, 0.0))
        if not (math.isfinite(total) and math.isfinite(square) and total > 0 and square > 0):
            raise ValueError(f"weights of {key!r} must have a positive, finite sum and square sum")
        w_of[key], w2_of[key] = total, square
    return n_of, w_of, w2_of


def frequency_table(
    values: Sequence[Hashable | None],
    *,
    weights: Sequence[float] | None = None,
    categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
) -> FrequencyTable:
    """One-way table with percentages, Wilson intervals and suppression (None = missing).

    Categories default to the sorted distinct values; given categories fix the order, may have
    zero counts, and a value outside them raises ValueError. Suppression is `suppress_one_way`
    on the unweighted counts. With weights, percent is the weighted share and its interval uses
    the Kish effective n of the answering respondents.
    """
    check_k(k)
    check_confidence(confidence)
    w_all = aligned_weights(weights, len(values))
    labels = _categories(values, categories, "value")
    index = {label: position for position, label in enumerate(labels)}
    answered = [i for i, value in enumerate(values) if value is not None]
    groups = np.asarray([index[values[i]] for i in answered], dtype=np.int64)
    w = w_all[answered] if w_all is not None else np.ones(len(answered))
    size = len(labels)
    counts = np.bincount(groups, minlength=size).astype(np.int64)
    weighted_counts = _weighted_bincount(groups, w, size)
    total_w = float(w.sum())
    n_eff = kish_effective_n(w) if w_all is not None else float(counts.sum())
    return _frequency(
        labels,
        counts,
        weighted_counts,
        total_w=total_w,
        n_eff=n_eff,
        missing=len(values) - len(answered),
        weighted=w_all is not None,
        k=k,
        confidence=confidence,
    )


def frequency_table_from_counts(
    counts: Mapping[Value | None, int],
    *,
    weight_sums: Mapping[Value | None, float] | None = None,
    weight_squares: Mapping[Value | None, float] | None = None,
    categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
    suppression: OneWaySuppression | None = None,
    missing_hidden: bool = False,
) -> FrequencyTable:
    """`frequency_table` of respondents given as counts per value (the key None = missing).

    Weighted: weight_sums and weight_squares hold each value's sum of weights and of squared
    weights (zero-count keys may be left out). Same table as `frequency_table` on the
    respondents these counts describe (weighted figures equal up to floating-point rounding),
    for work proportional to the number of values rather than respondents. `suppression` and
    `missing_hidden` add suppressions made for other reasons (`differencing`), never lifted.
    """
    check_k(k)
    check_confidence(confidence)
    n_of, w_of, w2_of = _checked_counts(counts, weight_sums, weight_squares)
    labels = _categories(list(n_of), categories, "value")
    size = len(labels)
    x = np.zeros(size, dtype=np.int64)
    xw = np.zeros(size)
    xw2 = np.zeros(size)
    for position, label in enumerate(labels):
        if label in n_of:
            x[position], xw[position], xw2[position] = n_of[label], w_of[label], w2_of[label]
    weighted = weight_sums is not None
    total_w = float(xw.sum())
    n_eff = float(_kish(np.asarray([total_w]), np.asarray([xw2.sum()]))[0])
    return _frequency(
        labels,
        x,
        xw,
        total_w=total_w,
        n_eff=n_eff if weighted else float(x.sum()),
        missing=n_of.get(None, 0),
        weighted=weighted,
        k=k,
        confidence=confidence,
        suppression=suppression,
        missing_hidden=missing_hidden,
    )


def _frequency(
    labels: tuple[Hashable, ...],
    counts: IntArray,
    weighted_counts: FloatArray,
    *,
    total_w: float,
    n_eff: float,
    missing: int,
    weighted: bool,
    k: int,
    confidence: float,
    suppression: OneWaySuppression | None = None,
    missing_hidden: bool = False,
) -> FrequencyTable:
    """The one-way table from its aggregates: the single place its figures are worked out."""
    total_n = int(counts.sum())
    mask = suppress_one_way(counts, k=k, initial=suppression)
    cells: list[Cell] = []
    for position in range(len(labels)):
        if mask.cells[position]:
            cells.append(HIDDEN_CELL)
            continue
        percent = ci_low = ci_high = None
        if not mask.total:
            percent = _share(weighted_counts[position], total_w)
            ci_low, ci_high = _ci(
                int(counts[position]),
                float(weighted_counts[position]),
                total_w,
                n_eff,
                weighted=weighted,
                confidence=confidence,
            )
        cells.append(
            Cell(
                n=int(counts[position]),
                weighted_n=float(weighted_counts[position]),
                percent=percent,
                col_percent=None,
                total_percent=percent,
                ci_low=ci_low,
                ci_high=ci_high,
                suppressed=False,
            )
        )
    total = (
        HIDDEN_TOTAL
        if mask.total
        else Total(total_n, total_w, 100.0 if total_w > 0 else None, None, None, False)
    )
    missing_count, missing_hidden = _missing(missing, k, missing_hidden)
    return FrequencyTable(
        categories=labels,
        cells=tuple(cells),
        total=total,
        missing=missing_count,
        missing_suppressed=missing_hidden,
        weighted=weighted,
        k=k,
        confidence=confidence,
    )


def crosstab(
    rows: Sequence[Hashable | None],
    cols: Sequence[Hashable | None],
    *,
    weights: Sequence[float] | None = None,
    row_categories: Sequence[Hashable] | None = None,
    col_categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
) -> CrossTable:
    """Two-way table: row/column/total percentages, Wilson intervals of row shares, suppression.

    A respondent missing either variable (None) is excluded and counted in `missing`. Each
    cell's interval is for its row percentage; with weights the weighted row share and the Kish
    effective n of that row's respondents. Margin percentages are shares of the grand total.
    Suppression is `suppress` on the unweighted counts.
    """
    check_k(k)
    check_confidence(confidence)
    if len(rows) != len(cols):
        raise ValueError(f"got {len(rows)} row values and {len(cols)} column values")
    w_all = aligned_weights(weights, len(rows))
    weighted = w_all is not None
    row_labels = _categories(rows, row_categories, "row")
    col_labels = _categories(cols, col_categories, "column")
    row_index = {label: position for position, label in enumerate(row_labels)}
    col_index = {label: position for position, label in enumerate(col_labels)}
    answered = [i for i in range(len(rows)) if rows[i] is not None and cols[i] is not None]
    r_of = np.asarray([row_index[rows[i]] for i in answered], dtype=np.int64)
    c_of = np.asarray([col_index[cols[i]] for i in answered], dtype=np.int64)
    w = w_all[answered] if w_all is not None else np.ones(len(answered))
    nr, nc = len(row_labels), len(col_labels)
    flat = r_of * nc + c_of
    x = np.bincount(flat, minlength=nr * nc).astype(np.int64).reshape(nr, nc)
    xw = _weighted_bincount(flat, w, nr * nc).reshape(nr, nc)
    if weighted:
        row_eff = _kish_by_group(r_of, w, nr)
        grand_eff = kish_effective_n(w)
    else:
        row_eff = x.sum(axis=1).astype(float)
        grand_eff = float(x.sum())
    return _crosstab(
        row_labels,
        col_labels,
        x,
        xw,
        grand_w=float(w.sum()),
        row_eff=row_eff,
        grand_eff=grand_eff,
        missing=len(rows) - len(answered),
        weighted=weighted,
        k=k,
        confidence=confidence,
    )


def crosstab_from_counts(
    counts: Mapping[tuple[Row | None, Col | None], int],
    *,
    weight_sums: Mapping[tuple[Row | None, Col | None], float] | None = None,
    weight_squares: Mapping[tuple[Row | None, Col | None], float] | None = None,
    row_categories: Sequence[Hashable] | None = None,
    col_categories: Sequence[Hashable] | None = None,
    k: int = 10,
    confidence: float = 0.95,
    suppression: Suppression | None = None,
    missing_hidden: bool = False,
) -> CrossTable:
    """`crosstab` of respondents given as counts per (row value, column value); None = missing.

    Weighted: weight_sums and weight_squares hold each pair's sum of weights and of squared
    weights. Same table as `crosstab` on the respondents these counts describe (weighted figures
    equal up to floating-point rounding), for work proportional to the number of cells.
    `suppression` and `missing_hidden` add suppressions made for other reasons, never lifted.
    """
    check_k(k)
    check_confidence(confidence)
    for key in counts:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"crosstab counts are keyed by (row, column) pairs, got {key!r}")
    n_of, w_of, w2_of = _checked_counts(counts, weight_sums, weight_squares)
    row_labels = _categories([r for r, _ in n_of], row_categories, "row")
    col_labels = _categories([c for _, c in n_of], col_categories, "column")
    row_index = {label: position for position, label in enumerate(row_labels)}
    col_index = {label: position for position, label in enumerate(col_labels)}
    nr, nc = len(row_labels), len(col_labels)
    x = np.zeros((nr, nc), dtype=np.int64)
    xw = np.zeros((nr, nc))
    xw2 = np.zeros((nr, nc))
    missing = 0
    for (row, col), n in n_of.items():
        if row is None or col is None:
            missing += n
            continue
        i, j = row_index[row], col_index[col]
        x[i, j], xw[i, j], xw2[i, j] = n, w_of[(row, col)], w2_of[(row, col)]
    weighted = weight_sums is not None
    if weighted:
        row_eff = _kish(xw.sum(axis=1), xw2.sum(axis=1))
        grand_eff = float(_kish(np.asarray([xw.sum()]), np.asarray([xw2.sum()]))[0])
    else:
        row_eff = x.sum(axis=1).astype(float)
        grand_eff = float(x.sum())
    return _crosstab(
        row_labels,
        col_labels,
        x,
        xw,
        grand_w=float(xw.sum()),
        row_eff=row_eff,
        grand_eff=grand_eff,
        missing=missing,
        weighted=weighted,
        k=k,
        confidence=confidence,
        suppression=suppression,
        missing_hidden=missing_hidden,
    )


def _cross_cell(
    x: IntArray,
    xw: FloatArray,
    at: tuple[int, int],
    row_w: FloatArray,
    col_w: FloatArray,
    grand_w: float,
    row_eff: FloatArray,
    mask: Suppression,
    weighted: bool,
    confidence: float,
) -> Cell:
    """Cell `at` of a two-way table, its shares left out where the total they divide is hidden."""
    i, j = at
    if mask.cells[i, j]:
        return HIDDEN_CELL
    percent = ci_low = ci_high = col_percent = total_percent = None
    if not mask.row_totals[i]:
        percent = _share(xw[i, j], row_w[i])
        ci_low, ci_high = _ci(
            int(x[i, j]),
            float(xw[i, j]),
            float(row_w[i]),
            float(row_eff[i]),
            weighted=weighted,
            confidence=confidence,
        )
    if not mask.col_totals[j]:
        col_percent = _share(xw[i, j], col_w[j])
    if not mask.grand_total:
        total_percent = _share(xw[i, j], grand_w)
    return Cell(
        n=int(x[i, j]),
        weighted_n=float(xw[i, j]),
        percent=percent,
        col_percent=col_percent,
        total_percent=total_percent,
        ci_low=ci_low,
        ci_high=ci_high,
        suppressed=False,
    )


def _crosstab(
    row_labels: tuple[Hashable, ...],
    col_labels: tuple[Hashable, ...],
    x: IntArray,
    xw: FloatArray,
    *,
    grand_w: float,
    row_eff: FloatArray,
    grand_eff: float,
    missing: int,
    weighted: bool,
    k: int,
    confidence: float,
    suppression: Suppression | None = None,
    missing_hidden: bool = False,
) -> CrossTable:
    """The two-way table from its aggregates: the single place its figures are worked out."""
    nr, nc = x.shape
    row_n, col_n, grand_n = x.sum(axis=1), x.sum(axis=0), int(x.sum())
    row_w, col_w = xw.sum(axis=1), xw.sum(axis=0)
    mask = suppress(x, k=k, initial=suppression)

    cells = tuple(
        tuple(
            _cross_cell(x, xw, (i, j), row_w, col_w, grand_w, row_eff, mask, weighted, confidence)
            for j in range(nc)
        )
        for i in range(nr)
    )

    def margin(n: int, weighted_n: float, hidden: bool) -> Total:
        if hidden:
            return HIDDEN_TOTAL
        if mask.grand_total:
            return Total(n, weighted_n, None, None, None, False)
        low, high = _ci(n, weighted_n, grand_w, grand_eff, weighted=weighted, confidence=confidence)
        return Total(n, weighted_n, _share(weighted_n, grand_w), low, high, False)

    missing_count, missing_hidden = _missing(missing, k, missing_hidden)
    return CrossTable(
        row_categories=row_labels,
        col_categories=col_labels,
        cells=cells,
        row_totals=tuple(
            margin(int(row_n[i]), float(row_w[i]), bool(mask.row_totals[i])) for i in range(nr)
        ),
        col_totals=tuple(
            margin(int(col_n[j]), float(col_w[j]), bool(mask.col_totals[j])) for j in range(nc)
        ),
        total=(
            HIDDEN_TOTAL
            if mask.grand_total
            else Total(grand_n, grand_w, 100.0 if grand_w > 0 else None, None, None, False)
        ),
        missing=missing_count,
        missing_suppressed=missing_hidden,
        weighted=weighted,
        k=k,
        confidence=confidence,
    )
