"""Reading an analytics store back, and the same values read from the answers."""

from __future__ import annotations

from typing import Any

from django.db import connection

from surveys.analytics.layout import Layout
from surveys.models import AnalyticsTable, Response, Survey
from surveys.variables.catalogue import SurveyVariable, survey_variables
from surveys.variables.reader import response_rows


def store_rows(layout: Layout) -> dict[int, tuple[Any, ...]]:
    names = ", ".join(f'"{c.name}"' for c in layout.columns)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT response_id, language, {names} FROM "{layout.table}"')
        return {
            row[0]: (row[1], *(c.decode(v) for c, v in zip(layout.columns, row[2:], strict=True)))
            for row in cursor.fetchall()
        }


def _category(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return "1" if value is True else ("0" if value is False else str(value))


def _stored_variables(survey: Survey, layout: Layout) -> list[SurveyVariable]:
    """The survey's variables in the order of the store's columns."""
    by_key = {
        (*v.source, "flag" if v.source[0] == "flag" else ("boolean" if v.boolean else "choice")): v
        for v in survey_variables(survey=survey, derived=False)
        if v.categorical and v.source[0] in {"answer", "flag"}
    }
    return [by_key[c.key] for c in layout.columns]


def store_matches_answers(survey: Survey) -> bool:
    """The store equals the answers (True), or is stale and left to its rebuild (False)."""
    store = AnalyticsTable.objects.get(survey=survey)
    if store.stale:
        return False
    layout = Layout.from_json(store.layout)
    variables = _stored_variables(survey, layout)
    complete = Response.objects.filter(survey=survey, status=Response.Status.COMPLETE)
    expected = {
        response.pk: (response.language, *(_category(value) for value in values))
        for response, values in response_rows(
            survey=survey, variables=variables, responses=complete
        )
    }
    assert store_rows(layout) == expected
    return True
