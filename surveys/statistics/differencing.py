"""Disclosure control across queries, for callers who may not read raw answers (no Django).

One table's suppression (`disclosure`) stops a suppressed cell being worked out from that table;
these rules stop it being worked out from two or more tables, which a caller can ask for at will:

- **Atoms.** The survey's complete responses are split by every attribute the request restricts
  on: the published period (week, month or quarter) of the submission date when the request has
  a window, the language when it names one, the code of each filtered variable (missing being a
  code of its own). A figure (a cell, a margin, the total, the missing count, n) is published
  only if its count is 0 or at least k in every atom, inside the request's population and out
  of it. Any two requests over the same attributes then differ, figure by figure, by whole
  atoms, so a difference is 0 or at least k: `to=D` minus `to=D-1`, a table minus the same
  table for one language, `filter=V:a` minus `filter=V:a&filter=V:b`.
- **Windows snap** outward to whole periods (`snap_window`), so a window holds whole atoms. A
  restriction that leaves out nobody splits nothing (the caller decides, knowing the data).
- **The population line.** n (the respondents a request covers, the same figure whatever the
  variable, and often a cell of a wider table) is taken as known. It is the sum of the table's
  total, its missing count and, weighted, the respondents without a stratum: one more line of
  the table, in which none is the only one suppressed (`line_masks`), so "n - missing" never
  gives a suppressed total back. A table that only hiding n could protect is withheld whole.
- **Zeros** in a line whose total is withheld are withheld too (`hide_zeros`).
- **Weighted figures** (weighted counts and shares, effective n) are published only when every
  count of the table crossed with the weighting strata is 0 or at least k in every atom and the
  table suppresses nothing (`weighting_safe`); otherwise they are withheld, since with the
  strata's sizes (a published table) each weighted count is one more equation in the cells.

Perturbation (cell-key noise as the ABS and ONS use) is not applied: every published figure is
exact, and a figure that cannot be published exactly is suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from surveys.statistics.checks import check_k
from surveys.statistics.disclosure import (
    OneWaySuppression,
    Suppression,
    suppress,
    suppress_one_way,
)
from surveys.statistics.published import (
    HIDDEN_CELL,
    HIDDEN_TOTAL,
    Cell,
    CrossTable,
    FrequencyTable,
    Total,
)
from surveys.statistics.tables import crosstab_from_counts, frequency_table_from_counts

PERIOD_UNITS: tuple[str, ...] = ("week", "month", "quarter")

# --- periods ------------------------------------------------------------------------------------


def _check_unit(unit: str) -> None:
    if unit not in PERIOD_UNITS:
        raise ValueError(f"period must be one of {', '.join(PERIOD_UNITS)}, got {unit!r}")


def period_start(day: date, unit: str) -> date:
    """First day of the published period holding `day` (weeks start on Monday)."""
    _check_unit(unit)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def period_end(day: date, unit: str) -> date:
    """Last day of the published period holding `day`."""
    start = period_start(day, unit)
    if unit == "week":
        return start + timedelta(days=6)
    months = 1 if unit == "month" else 3
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, 1) - timedelta(days=1)


def snap_window(
    date_from: date | None, date_to: date | None, unit: str
) -> tuple[date | None, date | None]:
    """The window widened to whole periods: `from` to its period's start, `to` to its end."""
    return (
        period_start(date_from, unit) if date_from else None,
        period_end(date_to, unit) if date_to else None,
    )


# --- atoms --------------------------------------------------------------------------------------

Atom = Hashable
Figure = Hashable


def unsafe_figures(counts: Iterable[tuple[Atom, Figure, int]], *, k: int) -> set[Figure]:
    """Figures whose count, summed within some atom, is between 1 and k - 1.

    `counts` holds (atom, figure, n) triples; a figure may appear many times in one atom.
    """
    check_k(k)
    totals: dict[tuple[Atom, Figure], int] = defaultdict(int)
    for atom, figure, n in counts:
        totals[atom, figure] += n
    return {figure for (_atom, figure), n in totals.items() if 0 < n < k}


def weighting_safe(counts: Iterable[tuple[Atom, Hashable, int]], *, k: int) -> bool:
    """True when every (cell, stratum) count is 0 or at least k in every atom."""
    return not unsafe_figures(counts, k=k)


# --- the population line -------------------------------------------------------------------------


def line_masks(
    parts: Sequence[int], hidden: Sequence[bool], *, n_hidden: bool, k: int
) -> tuple[list[bool], bool]:
    """Which of the parts of n (total, missing, excluded) and n itself are withheld.

    The parts are one line whose total is n: small ones are suppressed, suppressions made for
    other reasons (`hidden`) are kept, and a lone suppressed part takes the smallest published
    non-zero one with it (else n). Zeros are never suppressed.
    """
    x = np.asarray(parts, dtype=np.int64)
    initial = OneWaySuppression(
        cells=np.asarray(hidden, dtype=bool) & (x > 0),
        total=bool(n_hidden and x.sum() > 0),
    )
    mask = suppress_one_way(x, k=k, initial=initial)
    return [bool(v) for v in mask.cells], bool(mask.total)


@dataclass(frozen=True)
class Guard:
    """What the atoms and the request say about a table before its own rule runs.

    `unsafe` holds the figures failing the atom test: ("cell", code) or ("cell", row, col),
    ("row", code), ("col", code), "total", "missing", "excluded", "n". `excluded` counts the
    respondents left out of a weighted table for want of a stratum. `weighting_ok` is
    `weighting_safe` of the table crossed with the strata (True when unweighted).
    """

    unsafe: frozenset[Hashable]
    excluded: int = 0
    weighting_ok: bool = True


@dataclass(frozen=True)
class Guarded:
    """A protected table with the figures the request reports beside it."""

    table: FrequencyTable | CrossTable
    n_hidden: bool
    excluded_hidden: bool
    withheld: bool
    weighted_withheld: bool


def _n_public(n: int, guard: Guard, k: int) -> bool:
    # n depends on the request's population only, never on the variable asked, so any other
    # table of the same population would publish it: the line cannot count on hiding it.
    return not (0 < n < k or "n" in guard.unsafe)


def _line(
    table_total: int,
    table_hidden: bool,
    missing: int,
    guard: Guard,
    hidden: tuple[bool, bool],
    k: int,
) -> tuple[bool, bool, bool, bool]:
    """(total, missing, excluded withheld, and whether only hiding n would close the line).

    n is taken as known: whatever this table says, another table of the same selection, or a
    cell of a wider one, may give it.
    """
    parts = [table_total, missing, guard.excluded]
    flags, needs_n = line_masks(parts, [table_hidden, *hidden], n_hidden=False, k=k)
    return flags[0], flags[1], flags[2], needs_n


def protect_frequency(
    counts: Mapping[Any, int],
    *,
    categories: Sequence[Hashable],
    guard: Guard,
    k: int,
    weight_sums: Mapping[Any, float] | None = None,
    weight_squares: Mapping[Any, float] | None = None,
) -> Guarded:
    """`frequency_table_from_counts` under the rules of this module (see its docstring)."""
    check_k(k)
    x = np.asarray([int(counts.get(c, 0)) for c in categories], dtype=np.int64)
    missing = int(counts.get(None, 0))
    mask = OneWaySuppression(
        cells=np.asarray([("cell", c) in guard.unsafe for c in categories], dtype=bool) & (x > 0),
        total=bool("total" in guard.unsafe and x.sum() > 0),
    )
    hidden = ("missing" in guard.unsafe, "excluded" in guard.unsafe)
    while True:
        mask = suppress_one_way(x, k=k, initial=mask)
        total_h, missing_h, excluded_h, n_h = _line(
            int(x.sum()), mask.total, missing, guard, hidden, k
        )
        hidden = (missing_h, excluded_h)
        if total_h and not mask.total:
            mask = OneWaySuppression(cells=mask.cells, total=True)
            continue
        break
    table = frequency_table_from_counts(
        counts,
        weight_sums=weight_sums,
        weight_squares=weight_squares,
        categories=categories,
        k=k,
        suppression=mask,
        missing_hidden=missing_h,
    )
    return _finish(table, guard, int(x.sum()) + missing + guard.excluded, (n_h, excluded_h), k)


def protect_crosstab(
    counts: Mapping[Any, int],
    *,
    row_categories: Sequence[Hashable],
    col_categories: Sequence[Hashable],
    guard: Guard,
    k: int,
    weight_sums: Mapping[Any, float] | None = None,
    weight_squares: Mapping[Any, float] | None = None,
) -> Guarded:
    """`crosstab_from_counts` under the rules of this module (see its docstring)."""
    check_k(k)
    x = np.zeros((len(row_categories), len(col_categories)), dtype=np.int64)
    missing = 0
    rows = {c: i for i, c in enumerate(row_categories)}
    cols = {c: j for j, c in enumerate(col_categories)}
    for (row, col), n in counts.items():
        if row is None or col is None:
            missing += int(n)
        else:
            x[rows[row], cols[col]] += int(n)
    unsafe = guard.unsafe
    mask = Suppression(
        cells=np.asarray(
            [[("cell", r, c) in unsafe for c in col_categories] for r in row_categories],
            dtype=bool,
        ).reshape(x.shape)
        & (x > 0),
        row_totals=np.asarray([("row", r) in unsafe for r in row_categories], dtype=bool)
        & (x.sum(axis=1) > 0),
        col_totals=np.asarray([("col", c) in unsafe for c in col_categories], dtype=bool)
        & (x.sum(axis=0) > 0),
        grand_total=bool("total" in unsafe and x.sum() > 0),
    )
    hidden = ("missing" in unsafe, "excluded" in unsafe)
    while True:
        mask = suppress(x, k=k, initial=mask)
        total_h, missing_h, excluded_h, n_h = _line(
            int(x.sum()), mask.grand_total, missing, guard, hidden, k
        )
        hidden = (missing_h, excluded_h)
        if total_h and not mask.grand_total:
            mask = replace(mask, grand_total=True)
            continue
        break
    table = crosstab_from_counts(
        counts,
        weight_sums=weight_sums,
        weight_squares=weight_squares,
        row_categories=row_categories,
        col_categories=col_categories,
        k=k,
        suppression=mask,
        missing_hidden=missing_h,
    )
    return _finish(table, guard, int(x.sum()) + missing + guard.excluded, (n_h, excluded_h), k)


def _finish(
    table: FrequencyTable | CrossTable,
    guard: Guard,
    n: int,
    hidden: tuple[bool, bool],
    k: int,
) -> Guarded:
    needs_n, excluded_hidden = hidden
    n_hidden = not _n_public(n, guard, k)
    if needs_n:
        # The line could only be closed by hiding n, which other tables of this population
        # publish: nothing of this table is published then, not even its zeros.
        return Guarded(withhold_table(table), n_hidden, guard.excluded > 0, True, table.weighted)
    weighted_withheld = table.weighted and not (guard.weighting_ok and not suppresses(table))
    if weighted_withheld:
        table = withhold_weights(table)
    return Guarded(hide_zeros(table), n_hidden, excluded_hidden, False, weighted_withheld)


def _zero_hidden(cell: Cell) -> Cell:
    return HIDDEN_CELL if cell.n == 0 else cell


def _zero_total_hidden(total: Total) -> Total:
    return HIDDEN_TOTAL if total.n == 0 else total


def hide_zeros(table: FrequencyTable | CrossTable) -> FrequencyTable | CrossTable:
    """Zeros withheld in every line whose total is withheld.

    In a line of fewer than k respondents, published zeros would say which values its members
    do not have: with one non-zero value left, what every one of them answered.
    """
    if isinstance(table, FrequencyTable):
        if not table.total.suppressed:
            return table
        return replace(table, cells=tuple(_zero_hidden(c) for c in table.cells))
    cells = [
        [
            _zero_hidden(cell)
            if (table.row_totals[i].suppressed or table.col_totals[j].suppressed)
            else cell
            for j, cell in enumerate(line)
        ]
        for i, line in enumerate(table.cells)
    ]
    rows, cols = table.row_totals, table.col_totals
    if table.total.suppressed:
        rows = tuple(_zero_total_hidden(t) for t in rows)
        cols = tuple(_zero_total_hidden(t) for t in cols)
    return replace(
        table, cells=tuple(tuple(line) for line in cells), row_totals=rows, col_totals=cols
    )


def suppresses(table: FrequencyTable | CrossTable) -> bool:
    """True when the table withholds any cell, total or its missing count."""
    if table.missing_suppressed or table.total.suppressed:
        return True
    if isinstance(table, FrequencyTable):
        return any(cell.suppressed for cell in table.cells)
    return (
        any(cell.suppressed for line in table.cells for cell in line)
        or any(t.suppressed for t in table.row_totals)
        or any(t.suppressed for t in table.col_totals)
    )


def withhold_table(table: FrequencyTable | CrossTable) -> FrequencyTable | CrossTable:
    """The table with every cell, total and the missing count withheld, zeros included."""
    if isinstance(table, FrequencyTable):
        return replace(
            table,
            cells=tuple(HIDDEN_CELL for _ in table.cells),
            total=HIDDEN_TOTAL,
            missing=None,
            missing_suppressed=True,
        )
    return replace(
        table,
        cells=tuple(tuple(HIDDEN_CELL for _ in line) for line in table.cells),
        row_totals=tuple(HIDDEN_TOTAL for _ in table.row_totals),
        col_totals=tuple(HIDDEN_TOTAL for _ in table.col_totals),
        total=HIDDEN_TOTAL,
        missing=None,
        missing_suppressed=True,
    )


def _unweighted_cell(cell: Cell) -> Cell:
    return replace(
        cell,
        weighted_n=None,
        percent=None,
        col_percent=None,
        total_percent=None,
        ci_low=None,
        ci_high=None,
    )


def _unweighted_total(total: Total) -> Total:
    return replace(total, weighted_n=None, percent=None, ci_low=None, ci_high=None)


def withhold_weights(table: FrequencyTable | CrossTable) -> FrequencyTable | CrossTable:
    """The table with its weighted figures (weighted counts, shares, intervals) withheld."""
    if isinstance(table, FrequencyTable):
        return replace(
            table,
            cells=tuple(_unweighted_cell(c) for c in table.cells),
            total=_unweighted_total(table.total),
        )
    return replace(
        table,
        cells=tuple(tuple(_unweighted_cell(c) for c in line) for line in table.cells),
        row_totals=tuple(_unweighted_total(t) for t in table.row_totals),
        col_totals=tuple(_unweighted_total(t) for t in table.col_totals),
        total=_unweighted_total(table.total),
    )
