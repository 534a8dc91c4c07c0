"""Time spent has one definition: the sum of the page timings, missing when nothing was timed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from surveys.models import Response, time_spent
from surveys.variables.sources import seconds_spent


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
