"""Time spent has one definition: the sum of the page timings, missing when nothing was timed."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.models import Response, time_spent
from surveys.variables.sources import TIME_SPENT_SQL, seconds_spent


@pytest.mark.parametrize(
    ("page_seconds", "expected"),
    [
        ({}, None),
        (None, None),
        ({"about": 0}, 0),
        ({"about": 42, "tools": "18"}, 60),
        ({"a": 3600, "b": 1, "c": 2}, 3603),
    ],
)
def test_time_spent_sums_the_page_timings(page_seconds, expected):  # type: ignore[no-untyped-def]
    assert time_spent(page_seconds) == expected
    assert Response(page_seconds=page_seconds).time_spent_seconds == expected
    as_variable = seconds_spent(page_seconds)
    assert as_variable == (None if expected is None else Decimal(expected))
    assert as_variable is None or isinstance(as_variable, Decimal)


_TIMING = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(0, 5000).map(str),
    st.booleans(),
    st.none(),
    st.just(1e3),
    st.just(12.0),
)


def _from_sql(page_seconds: Any) -> Any:
    """What PostgreSQL's reader makes of `page_seconds` (TIME_SPENT_SQL, then seconds_spent)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.spent, t.pages FROM (SELECT %s::jsonb AS page_seconds) r "
            f"CROSS JOIN {TIME_SPENT_SQL}",
            [None if page_seconds is None else json.dumps(page_seconds)],
        )
        spent, pages = cursor.fetchone()
    if pages is None:
        return spent
    return seconds_spent(json.loads(pages) if isinstance(pages, str) else pages)


@pytest.mark.django_db
@settings(max_examples=200, deadline=None)
@given(
    page_seconds=st.one_of(
        st.none(),
        st.dictionaries(st.sampled_from(["about", "tools", "work", "关于"]), _TIMING, max_size=4),
        st.lists(st.integers(0, 9), max_size=2),
    )
)
def test_postgresql_sums_the_timings_as_seconds_spent_does(page_seconds: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TIME_SPENT_SQL is PostgreSQL's reader's")
    # Both readers read the timings as the database gives them back (jsonb keeps numbers as
    # numeric: 6.3e16 comes back as an integer).
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [json.dumps(page_seconds)])
        stored = json.loads(cursor.fetchone()[0])
    try:
        expected = seconds_spent(stored)
    except (TypeError, ValueError, AttributeError) as error:
        with pytest.raises(type(error)):
            _from_sql(stored)
        return
    got = _from_sql(stored)
    assert got == expected
    assert type(got) is type(expected)
    assert str(got) == str(expected)  # the same text in a CSV: no "12.0" for 12
