"""The page's pure parts: a suppressed figure never becomes a number; bars stay on the chart."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from surveys.results.charts import PLOT_WIDTH
from surveys.results.downloads import table_csv
from surveys.results.presentation import table_view

SHARE = st.floats(min_value=0, max_value=100, allow_nan=False)


@st.composite
def cells(draw: Any) -> dict[str, Any]:
    if draw(st.booleans()):
        return {
            "n": None, "percent": None, "ci_low": None, "ci_high": None, "suppressed": True,
        }  # fmt: skip
    low, high = sorted([draw(SHARE), draw(SHARE)])
    return {
        "n": draw(st.integers(min_value=0, max_value=10**6)),
        "percent": draw(st.one_of(st.none(), SHARE)),
        "ci_low": low,
        "ci_high": high,
        "suppressed": False,
    }


@st.composite
def frequency_answers(draw: Any) -> dict[str, Any]:
    listed = draw(st.lists(cells(), min_size=1, max_size=8))
    for number, cell in enumerate(listed):
        cell["code"] = cell["category"] = str(number)
        cell["label"] = draw(st.sampled_from(["Yes", "=SUM(A1)", "否", "-1"]))
    hidden = draw(st.booleans())
    return {
        "n": None if hidden else 10,
        "table": {
            "kind": "frequency",
            "cells": listed,
            "total": {"n": None if hidden else 10, "suppressed": hidden},
            "missing": None if hidden else 0,
            "missing_suppressed": hidden,
        },
    }


@given(frequency_answers())
def test_suppressed_cells_stay_without_numbers(answer: dict[str, Any]) -> None:
    view = table_view(answer)
    for line, cell in zip(view.groups[0].lines, answer["table"]["cells"], strict=True):
        if cell["suppressed"]:
            assert (line.n, line.percent, line.ci_low, line.ci_high) == (None,) * 4
            assert line.suppressed
        else:
            assert line.n == str(cell["n"])
    for bar, cell in zip(view.chart.bars, answer["table"]["cells"], strict=True):
        assert 0 <= bar.width <= PLOT_WIDTH
        if cell["suppressed"] or cell["percent"] is None:
            assert bar.width == 0 and bar.text is None and bar.low_x is None
        else:
            assert bar.text == f"{cell['percent']:.1f}"
            assert bar.low_x is not None and bar.high_x is not None
            assert 0 <= bar.low_x <= bar.high_x <= PLOT_WIDTH
    heights = [bar.y for bar in view.chart.bars]
    assert heights == sorted(heights) and view.chart.height > heights[-1]


@given(frequency_answers())
def test_csv_rows_follow_the_cells(answer: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(table_csv(answer, total="Total", missing="Missing"))))
    listed = answer["table"]["cells"]
    assert len(rows) == len(listed) + 2
    for row, cell in zip(rows, listed, strict=False):
        assert not row["label"].startswith(("=", "-", "+", "@"))  # no formula in a spreadsheet
        if cell["suppressed"]:
            assert row["respondents"] == row["percent"] == row["ci_low"] == row["ci_high"] == ""
            assert row["suppressed"] == "1"
        else:
            assert int(row["respondents"]) == cell["n"]
