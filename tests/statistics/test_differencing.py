"""The pure rules against differencing (`surveys.statistics.differencing`), without a database."""

from __future__ import annotations

from datetime import date

import pytest

from surveys.statistics.differencing import (
    Guard,
    period_end,
    period_start,
    protect_crosstab,
    protect_frequency,
    snap_window,
    unsafe_figures,
)


@pytest.mark.parametrize(
    ("unit", "day", "start", "end"),
    [
        ("week", date(2026, 1, 8), date(2026, 1, 5), date(2026, 1, 11)),
        ("month", date(2026, 2, 14), date(2026, 2, 1), date(2026, 2, 28)),
        ("month", date(2024, 12, 31), date(2024, 12, 1), date(2024, 12, 31)),
        ("quarter", date(2026, 5, 2), date(2026, 4, 1), date(2026, 6, 30)),
        ("quarter", date(2026, 11, 30), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_periods(unit, day, start, end):
    assert period_start(day, unit) == start and period_end(day, unit) == end
    assert snap_window(day, day, unit) == (start, end)


def test_unknown_period_is_refused():
    with pytest.raises(ValueError, match="week, month, quarter"):
        period_start(date(2026, 1, 1), "fortnight")


def test_two_days_of_one_month_snap_to_the_same_window():
    assert snap_window(None, date(2026, 1, 20), "month") == snap_window(
        None, date(2026, 1, 19), "month"
    )


def test_a_figure_small_in_any_atom_is_unsafe():
    counts = [(("en",), "a", 12), (("zh",), "a", 2), (("en",), "b", 7), (("zh",), "b", 0)]
    assert unsafe_figures(counts, k=5) == {"a"}
    # Counts of one figure within one atom add up before the test.
    assert unsafe_figures([*counts, (("zh",), "a", 3)], k=5) == set()


def test_a_cell_unsafe_by_its_complement_is_suppressed_with_a_partner():
    guarded = protect_frequency(
        {"a": 12, "b": 9, "c": 20},
        categories=["a", "b", "c"],
        guard=Guard(frozenset({("cell", "a")})),
        k=5,
    )
    hidden = [cell.suppressed for cell in guarded.table.cells]
    assert hidden == [True, True, False]  # a, and the smallest other (b) so the total keeps it
    assert not guarded.table.total.suppressed and not guarded.withheld


def test_a_small_missing_count_takes_the_total_with_it():
    guarded = protect_frequency(
        {"a": 12, "b": 9, None: 2}, categories=["a", "b"], guard=Guard(frozenset()), k=5
    )
    table = guarded.table
    assert table.missing is None and table.total.suppressed
    # n = total + missing is published elsewhere: with the total hidden, a cell goes too.
    assert sum(cell.suppressed for cell in table.cells) >= 1


def test_a_table_that_only_n_could_protect_is_withheld():
    # Everyone answered a, and a is unsafe: a = total = n, which other tables publish.
    guarded = protect_frequency(
        {"a": 12, "b": 0}, categories=["a", "b"], guard=Guard(frozenset({("cell", "a")})), k=5
    )
    assert guarded.withheld
    assert all(cell.suppressed for cell in guarded.table.cells)  # zeros too
    assert not guarded.n_hidden  # n itself (12 >= k) is no secret


def test_zeros_are_hidden_in_a_small_line():
    guarded = protect_crosstab(
        {("x", "a"): 3, ("y", "a"): 10, ("y", "b"): 10},
        row_categories=["x", "y"],
        col_categories=["a", "b"],
        guard=Guard(frozenset()),
        k=5,
    )
    x_row = guarded.table.cells[0]
    assert x_row[0].suppressed and x_row[1].suppressed  # the zero of a row of 3 says too much


def test_weighted_figures_are_withheld_when_a_cell_is_suppressed():
    guarded = protect_frequency(
        {"a": 12, "b": 3, "c": 9},
        categories=["a", "b", "c"],
        guard=Guard(frozenset()),
        k=5,
        weight_sums={"a": 10.0, "b": 4.0, "c": 11.0},
        weight_squares={"a": 9.0, "b": 6.0, "c": 14.0},
    )
    assert guarded.weighted_withheld
    assert all(cell.weighted_n is None and cell.percent is None for cell in guarded.table.cells)
    assert guarded.table.cells[0].n == 12  # unweighted counts stay


def test_weighted_figures_stay_when_every_stratum_cell_is_large():
    guarded = protect_frequency(
        {"a": 12, "b": 10},
        categories=["a", "b"],
        guard=Guard(frozenset(), weighting_ok=True),
        k=5,
        weight_sums={"a": 10.0, "b": 12.0},
        weight_squares={"a": 9.0, "b": 15.0},
    )
    assert not guarded.weighted_withheld
    assert guarded.table.cells[0].weighted_n == pytest.approx(10.0)
