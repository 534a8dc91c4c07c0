"""A public table as CSV: the API's figures unrounded, suppressed ones left empty.

Labels go through the exports' formula guard, since a CSV is opened in spreadsheets.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

from surveys.exports.formats.safety import neutralise

FREQUENCY_HEADER = ["code", "label", "respondents", "percent", "ci_low", "ci_high", "suppressed"]
CROSSTAB_HEADER = [
    "row_code",
    "row_label",
    "col_code",
    "col_label",
    "respondents",
    "percent",
    "ci_low",
    "ci_high",
    "suppressed",
]


def _figures(cell: Mapping[str, Any]) -> list[Any]:
    # A suppressed cell's figures are None already; written as empty fields, never as numbers.
    return [
        "" if cell.get(name) is None else cell[name]
        for name in ("n", "percent", "ci_low", "ci_high")
    ] + [1 if cell.get("suppressed") else 0]


def _text(value: Any) -> str:
    return neutralise(str(value))


def _frequency_rows(table: Mapping[str, Any], total: str, missing: str) -> Iterator[list[Any]]:
    yield FREQUENCY_HEADER
    for cell in table["cells"]:
        yield [_text(cell["code"]), _text(cell["label"]), *_figures(cell)]
    yield ["", _text(total), *_figures(table["total"])]
    yield ["", _text(missing), *_missing(table)]


def _missing(table: Mapping[str, Any]) -> list[Any]:
    hidden = bool(table.get("missing_suppressed"))
    value = table.get("missing")
    return ["" if value is None else value, "", "", "", 1 if hidden else 0]


def _crosstab_rows(table: Mapping[str, Any], total: str, missing: str) -> Iterator[list[Any]]:
    yield CROSSTAB_HEADER
    for row_total, cells in zip(table["row_totals"], table["cells"], strict=True):
        for cell in cells:
            yield [
                _text(cell["row"]),
                _text(cell["row_label"]),
                _text(cell["col"]),
                _text(cell["col_label"]),
                *_figures(cell),
            ]
        row, label = _text(row_total["row"]), _text(row_total["label"])
        yield [row, label, "", _text(total), *_figures(row_total)]
    for col_total in table["col_totals"]:
        col, label = _text(col_total["col"]), _text(col_total["label"])
        yield ["", _text(total), col, label, *_figures(col_total)]
    yield ["", _text(total), "", _text(total), *_figures(table["total"])]
    yield ["", _text(missing), "", "", *_missing(table)]


def table_csv(statistics: Mapping[str, Any], *, total: str, missing: str) -> str:
    """The CSV of one answer of `statistics_publish`; `total` and `missing` label those lines."""
    table = statistics["table"]
    rows = (
        _crosstab_rows(table, total, missing)
        if table["kind"] == "crosstab"
        else _frequency_rows(table, total, missing)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()
