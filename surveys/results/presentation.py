"""The statistics' answer as the page shows it: lines of figures, written out, and the chart.

Pure: takes the dicts `statistics_publish` returns (as the API sends them) and only formats
them: counts as integers, shares and intervals to one decimal. A suppressed figure stays None,
so the page can only say that it is suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveys.results.charts import Bar, Chart, bar_chart


@dataclass(frozen=True)
class Line:
    """One line of a table: a category (or a total) with its figures written out."""

    code: str
    label: str
    n: str | None
    percent: str | None
    ci_low: str | None
    ci_high: str | None
    suppressed: bool


@dataclass(frozen=True)
class Group:
    """A cross-tabulation's row category with its cells; a frequency table has one, unnamed."""

    code: str
    label: str
    total: Line | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class TableView:
    kind: str  # "frequency" or "crosstab"
    groups: tuple[Group, ...]
    total: Line
    missing: str | None
    missing_suppressed: bool
    n: str | None
    withheld: bool
    chart: Chart


def count(value: Any) -> str | None:
    return None if value is None else str(int(value))


def share(value: Any) -> str | None:
    return None if value is None else f"{float(value):.1f}"


def _line(code: Any, label: Any, figures: Mapping[str, Any]) -> Line:
    return Line(
        code=str(code),
        label=str(label),
        n=count(figures.get("n")),
        percent=share(figures.get("percent")),
        ci_low=share(figures.get("ci_low")),
        ci_high=share(figures.get("ci_high")),
        suppressed=bool(figures.get("suppressed")),
    )


def _bar(line: Line, figures: Mapping[str, Any]) -> Bar:
    return Bar(
        line.label,
        figures.get("percent"),
        figures.get("ci_low"),
        figures.get("ci_high"),
        bool(figures.get("suppressed")),
        text=line.percent or "",
    )


def _frequency(table: Mapping[str, Any]) -> tuple[tuple[Group, ...], list[Bar]]:
    lines, bars = [], []
    for cell in table["cells"]:
        line = _line(cell["code"], cell["label"], cell)
        lines.append(line)
        bars.append(_bar(line, cell))
    return (Group("", "", None, tuple(lines)),), bars


def _crosstab(table: Mapping[str, Any]) -> tuple[tuple[Group, ...], list[Bar]]:
    groups, bars = [], []
    for row_total, cells in zip(table["row_totals"], table["cells"], strict=True):
        total = _line(row_total["row"], row_total["label"], row_total)
        bars.append(Bar(total.label, None, None, None, False, heading=True))
        lines = []
        for cell in cells:
            line = _line(cell["col"], cell["col_label"], cell)
            lines.append(line)
            bars.append(_bar(line, cell))
        groups.append(Group(total.code, total.label, total, tuple(lines)))
    return tuple(groups), bars


def table_view(statistics: Mapping[str, Any]) -> TableView:
    """The page's view of one answer of `statistics_publish` (counts, one way or two)."""
    table = statistics["table"]
    kind = table["kind"]
    groups, bars = _crosstab(table) if kind == "crosstab" else _frequency(table)
    return TableView(
        kind=kind,
        groups=groups,
        total=_line("", "", table["total"]),
        missing=count(table.get("missing")),
        missing_suppressed=bool(table.get("missing_suppressed")),
        n=count(statistics.get("n")),
        withheld=bool(table.get("withheld")),
        chart=bar_chart(bars),
    )
