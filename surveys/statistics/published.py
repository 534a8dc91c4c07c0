"""What a published table holds: its cells and totals, and the one-way and two-way table shapes.

Plain frozen dataclasses with `as_dict()` for JSON; `tables` builds them. A suppressed cell or
total is `HIDDEN_CELL` / `HIDDEN_TOTAL`: every figure None, so the count is not kept at all.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True)
class Cell:
    """One published cell; every figure is None when suppressed (the count is not kept at all).

    percent is the row percentage in a crosstab and the share of the total in a frequency table;
    col_percent is the column percentage (None in a frequency table); total_percent is the share
    of the grand total. ci_low/ci_high: Wilson interval of `percent`, on the same 0-100 scale.
    A percentage or interval is also None when its denominator's total is suppressed, since
    count / percent would give that total back.
    """

    n: int | None
    weighted_n: float | None
    percent: float | None
    col_percent: float | None
    total_percent: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        # Every field is a scalar: a copy of the fields, without asdict's recursive deep copy
        # (a table has a cell per category pair, and this runs for each).
        return dict(self.__dict__)


@dataclass(frozen=True)
class Total:
    """A row, column or grand total; percent (with a Wilson interval) is its share of the total."""

    n: int | None
    weighted_n: float | None
    percent: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        # Every field is a scalar: a copy of the fields, without asdict's recursive deep copy
        # (a table has a cell per category pair, and this runs for each).
        return dict(self.__dict__)


HIDDEN_CELL = Cell(None, None, None, None, None, None, None, True)
HIDDEN_TOTAL = Total(None, None, None, None, None, True)


@dataclass(frozen=True)
class FrequencyTable:
    """Counts of one variable over its categories, with the non-missing total and missing count."""

    categories: tuple[Hashable, ...]
    cells: tuple[Cell, ...]
    total: Total
    missing: int | None
    missing_suppressed: bool
    weighted: bool
    k: int
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict; each cell carries its category label."""
        return {
            "kind": "frequency",
            "weighted": self.weighted,
            "k": self.k,
            "confidence": self.confidence,
            "categories": list(self.categories),
            "cells": [
                {"category": label, **cell.as_dict()}
                for label, cell in zip(self.categories, self.cells, strict=True)
            ],
            "total": self.total.as_dict(),
            "missing": self.missing,
            "missing_suppressed": self.missing_suppressed,
        }


@dataclass(frozen=True)
class CrossTable:
    """Counts of rows x columns with row, column and grand totals and the missing count."""

    row_categories: tuple[Hashable, ...]
    col_categories: tuple[Hashable, ...]
    cells: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Total, ...]
    col_totals: tuple[Total, ...]
    total: Total
    missing: int | None
    missing_suppressed: bool
    weighted: bool
    k: int
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict; cells are a list of rows, each cell carrying its row and column label."""
        return {
            "kind": "crosstab",
            "weighted": self.weighted,
            "k": self.k,
            "confidence": self.confidence,
            "row_categories": list(self.row_categories),
            "col_categories": list(self.col_categories),
            "cells": [
                [
                    {"row": row, "col": col, **cell.as_dict()}
                    for col, cell in zip(self.col_categories, line, strict=True)
                ]
                for row, line in zip(self.row_categories, self.cells, strict=True)
            ],
            "row_totals": [
                {"row": row, **total.as_dict()}
                for row, total in zip(self.row_categories, self.row_totals, strict=True)
            ],
            "col_totals": [
                {"col": col, **total.as_dict()}
                for col, total in zip(self.col_categories, self.col_totals, strict=True)
            ],
            "total": self.total.as_dict(),
            "missing": self.missing,
            "missing_suppressed": self.missing_suppressed,
        }


Table: TypeAlias = FrequencyTable | CrossTable
