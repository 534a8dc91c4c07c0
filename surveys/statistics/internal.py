"""Pure: the same table shapes as `tables`, with every count shown (no disclosure control).

For the survey's own owners and editors only, who may download the raw data anyway: the
researchers' dashboard shows them what it would suppress for anyone else. Nothing public, no
API answer and no viewer ever gets these tables; `tables` stays the one path for those.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from surveys.statistics.published import Cell, CrossTable, FrequencyTable, Total


def _percent(n: int, total: int) -> float | None:
    return 100.0 * n / total if total else None


def _total(n: int, total: int) -> Total:
    return Total(n, None, _percent(n, total), None, None, False)


def frequency_table_unsuppressed(
    counts: Mapping[Any, int], *, categories: Sequence[Hashable]
) -> FrequencyTable:
    """Counts per category (the key None = missing) with shares of the non-missing total."""
    total = sum(n for key, n in counts.items() if key is not None)
    cells = tuple(
        Cell(n, None, _percent(n, total), None, _percent(n, total), None, None, False)
        for n in (counts.get(category, 0) for category in categories)
    )
    return FrequencyTable(
        categories=tuple(categories),
        cells=cells,
        total=_total(total, total),
        missing=counts.get(None, 0),
        missing_suppressed=False,
        weighted=False,
        k=0,
        confidence=0.0,
    )


def crosstab_unsuppressed(
    counts: Mapping[tuple[Any, Any], int],
    *,
    row_categories: Sequence[Hashable],
    col_categories: Sequence[Hashable],
) -> CrossTable:
    """Counts per (row, column) pair (None = missing) with row, column and grand totals."""
    rows, cols = list(row_categories), list(col_categories)
    grid = [[counts.get((r, c), 0) for c in cols] for r in rows]
    row_n = [sum(line) for line in grid]
    col_n = [sum(grid[i][j] for i in range(len(rows))) for j in range(len(cols))]
    total = sum(row_n)
    cells = tuple(
        tuple(
            Cell(
                n,
                None,
                _percent(n, row_n[i]),
                _percent(n, col_n[j]),
                _percent(n, total),
                None,
                None,
                False,
            )
            for j, n in enumerate(line)
        )
        for i, line in enumerate(grid)
    )
    counted = sum(grid_n for grid_n in row_n)
    missing = sum(counts.values()) - counted
    return CrossTable(
        row_categories=tuple(rows),
        col_categories=tuple(cols),
        cells=cells,
        row_totals=tuple(_total(n, total) for n in row_n),
        col_totals=tuple(_total(n, total) for n in col_n),
        total=_total(total, total),
        missing=missing,
        missing_suppressed=False,
        weighted=False,
        k=0,
        confidence=0.0,
    )
