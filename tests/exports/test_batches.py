"""Reasons and cells made a batch of rows at a time, column by column, equal the row-by-row rules.

`missing.rows_with_reasons` and `formats.cells.iter_cells` work on batches of rows, a column at a
time; these tests hold them to a plain reference that takes one row and one value at a time: the
survey's skip logic run on every row's answers, and each variable's converter called on each value.
The survey has skip logic, multiple choice, a matrix, numbers, free text in Chinese, withdrawn,
unfinished and test responses and classifications; the batches are made small so that many
boundaries are crossed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.definitions import conditions
from surveys.exports import missing
from surveys.exports import services as export_services
from surveys.exports.formats import cells as cells_module
from surveys.exports.formats import iter_csv
from surveys.exports.formats.cells import converter_for, iter_cells
from surveys.exports.formats.safety import neutralise
from surveys.exports.formats.schema import ExportError, Variable
from surveys.management.commands.generate_responses import generate
from surveys.models import Page, Response
from surveys.respondent import services as respondent_services
from surveys.variables import reader
from tests.exports.conftest import CHINESE, respond


def _reference_reasons(rows: list[list[Any]], survey: Any, source: Any) -> list[list[Any]]:
    """Each empty cell's reason from the survey's conditions on the whole row, row by row."""
    visibility = missing._visibility(survey)
    out = []
    for row in rows:
        answers = missing._answers(row, source, visibility.codes)
        marked = list(row)
        for position, variable in enumerate(source):
            if missing.has_reasons(variable) and row[position] in (None, ""):
                rules = visibility.conditions.get(variable.source[1], [])
                shown = all(conditions.evaluate(rule, answers) for rule in rules)
                marked[position] = missing.NOT_ANSWERED if shown else missing.NOT_SHOWN
        out.append(marked)
    return out


def _reference_cells(rows: list[list[Any]], variables: Any, *, labels: bool) -> list[list[Any]]:
    converters = [converter_for(variable, labels=labels) for variable in variables]
    return [
        [None if value is None else convert(value) for convert, value in zip(converters, row)]
        for row in rows
    ]


@pytest.fixture
def varied(population):  # type: ignore[no-untyped-def]
    """The population, 90 generated responses, a withdrawn one and a test one."""
    survey = population.survey
    list(generate(survey=survey, count=90, seed=3, batch=40))
    started, _token = respondent_services.response_start(survey=survey, language="zh-hans")
    page = Page.objects.get(survey=survey, questions__code="change_text")
    started = respondent_services.response_save_page(
        response=started,
        page=page,
        values={"change_text": respondent_services.PageValue(CHINESE)},
        seconds=5,
    )
    receipt = respondent_services.response_complete(response=started)
    respondent_services.response_withdraw(receipt_code=receipt)
    test = respond(survey, {"employment_type": "agency"})
    Response.all_objects.filter(pk=test.pk).update(is_test=True)
    return survey


@pytest.mark.parametrize("scope", ["complete", "all"])
@pytest.mark.parametrize("batch", [1, 7, 256])
def test_batched_reasons_and_cells_equal_row_by_row(varied, monkeypatch, scope, batch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(missing, "REASON_BATCH", batch)
    monkeypatch.setattr(cells_module, "CELL_BATCH", batch)
    source, variables = export_services.export_variables(survey=varied, language="zh-hans")
    rows = list(reader.variable_rows(survey=varied, variables=source, status=scope))
    assert len(rows) == (93 if scope == "all" else 92)  # population 3, 90 made, no withdrawn/test
    expected = _reference_reasons(rows, varied, source)
    marked = list(
        missing.rows_with_reasons([list(row) for row in rows], survey=varied, variables=source)
    )
    assert marked == expected
    assert any(missing.NOT_SHOWN in row for row in marked)
    assert any(missing.NOT_ANSWERED in row for row in marked)
    for labels in (False, True):
        assert list(iter_cells(marked, variables, labels=labels)) == _reference_cells(
            marked, variables, labels=labels
        )
    # And the CSV as a whole: the same bytes at every batch size.
    monkeypatch.setattr(missing, "REASON_BATCH", 1)
    monkeypatch.setattr(cells_module, "CELL_BATCH", 1)
    one = b"".join(iter_csv(_reasoned(varied, source, scope), variables, labels=True))
    monkeypatch.setattr(missing, "REASON_BATCH", batch)
    monkeypatch.setattr(cells_module, "CELL_BATCH", batch)
    assert b"".join(iter_csv(_reasoned(varied, source, scope), variables, labels=True)) == one


def _reasoned(survey: Any, source: Any, scope: str) -> Any:
    rows = reader.variable_rows(survey=survey, variables=source, status=scope)
    return missing.rows_with_reasons(rows, survey=survey, variables=source)


_VARIABLES = [
    Variable("q_cat", "", "categorical", {"1": "one", "2": "two", "x": "=x"}),
    Variable("q_num", "", "numeric", {"-99": "not shown"}, missing_codes=frozenset({"-99"})),
    Variable("q_flag", "", "multi_flag"),
    Variable("q_text", "", "text"),
    Variable("q_when", "", "datetime"),
]
_VALUES = {
    "q_cat": st.sampled_from([None, "1", "2", "x", "7", "-98", 1, 2]),
    "q_num": st.one_of(
        st.none(),
        st.just("-99"),
        st.integers(-5, 5),
        st.decimals(allow_nan=True, allow_infinity=True, places=2),
        st.floats(allow_nan=True, allow_infinity=False, width=32),
    ),
    "q_flag": st.sampled_from([None, 0, 1, True, False, "0", "1"]),
    "q_text": st.one_of(st.none(), st.text(max_size=5), st.just("=1+1"), st.just(CHINESE)),
    "q_when": st.one_of(
        st.none(),
        st.just(dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)),
        st.just(dt.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=dt.UTC)),
        st.just("2026-01-02"),
    ),
}
_ROW = st.tuples(*(_VALUES[variable.name] for variable in _VARIABLES)).map(list)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(_ROW, max_size=30),
    batch=st.integers(1, 9),
    labels=st.booleans(),
    unhashable=st.booleans(),
)
def test_cells_of_any_rows_equal_value_by_value(rows, batch, labels, unhashable):  # type: ignore[no-untyped-def]
    if unhashable and rows:
        rows[len(rows) // 2][3] = ["a list"]  # no dict lookup: converted value by value
    old = cells_module.CELL_BATCH
    cells_module.CELL_BATCH = batch
    try:
        expected = _reference_cells(rows, _VARIABLES, labels=labels)
        got = list(iter_cells(rows, _VARIABLES, labels=labels))
    except ExportError:  # a list is no text cell: both must refuse it
        with pytest.raises(ExportError):
            _reference_cells(rows, _VARIABLES, labels=labels)
        return
    finally:
        cells_module.CELL_BATCH = old
    assert got == expected
    assert [[type(c) for c in row] for row in got] == [[type(c) for c in row] for row in expected]


def _reference_csv(rows: list[list[Any]], variables: Any, *, labels: bool) -> bytes:
    """The CSV written a row at a time from the reference cells, dates as ISO 8601 text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(variable.name) for variable in variables])
    for cells in _reference_cells(rows, variables, labels=labels):
        writer.writerow(
            [c.isoformat() if isinstance(c, dt.datetime | dt.date) else c for c in cells]
        )
    return out.getvalue().encode("utf-8", "replace")


def _csv_in_batches(
    rows: list[list[Any]], variables: Any, *, batch: int, labels: bool, chunk_chars: int
) -> bytes:
    """The CSV as `iter_csv` streams it, CELL_BATCH set to `batch` meanwhile."""
    old = cells_module.CELL_BATCH
    cells_module.CELL_BATCH = batch
    try:
        return b"".join(iter_csv(rows, variables, labels=labels, chunk_chars=chunk_chars))
    finally:
        cells_module.CELL_BATCH = old


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(_ROW, max_size=30), batch=st.integers(1, 9), labels=st.booleans())
def test_csv_of_any_rows_equals_one_written_row_by_row(rows, batch, labels):  # type: ignore[no-untyped-def]
    got = _csv_in_batches(rows, _VARIABLES, batch=batch, labels=labels, chunk_chars=64)
    assert got == _reference_csv(rows, _VARIABLES, labels=labels)


_TEXT = st.one_of(st.none(), st.text(alphabet=' ,"\r\na=', max_size=4), st.just(CHINESE))


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(_TEXT).map(list), max_size=20), batch=st.integers(1, 5))
def test_csv_of_one_column_equals_one_written_row_by_row(rows, batch):  # type: ignore[no-untyped-def]
    # A lone empty field is written "", so that its line is not blank; separators, quotes and
    # line breaks are quoted as csv.writer quotes them.
    text = [_VARIABLES[3]]
    got = _csv_in_batches(rows, text, batch=batch, labels=False, chunk_chars=16)
    assert got == _reference_csv(rows, text, labels=False)


@pytest.mark.parametrize("batch", [1, 3, 256])
def test_a_row_of_the_wrong_width_fails_after_the_rows_before_it(monkeypatch, batch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cells_module, "CELL_BATCH", batch)
    rows: list[list[Any]] = [["1", Decimal(2), 1, "a", None]] * 4 + [["1"]]
    out = iter_cells(rows, _VARIABLES, labels=False)
    got = [next(out) for _ in range(4)]
    assert got == [[1, Decimal(2), 1, "a", None]] * 4
    with pytest.raises(ExportError, match="row 4: 1 values for 5 variables"):
        next(out)
