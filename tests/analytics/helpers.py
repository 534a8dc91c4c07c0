"""Reading an analytics store back, and the same values read from the answers."""

from __future__ import annotations

from typing import Any

from django.db import connection

from surveys.analytics.layout import Column, Flag, Layout
from surveys.models import AnalyticsTable, Response, Survey
from surveys.variables.catalogue import SurveyVariable, survey_variables
from surveys.variables.reader import response_rows


def _held(layout: Layout, variable: SurveyVariable) -> Column | Flag | None:
    if variable.source[0] == "flag":
        return layout.flag(variable.source)
    return layout.column(variable.source, boolean=variable.boolean)


def _stored_variables(survey: Survey, layout: Layout) -> list[tuple[SurveyVariable, Any]]:
    """The survey's categorical question variables with the column or bit holding each; every
    one of them is in the store."""
    found = [
        (v, _held(layout, v))
        for v in survey_variables(survey=survey, derived=False)
        if v.categorical and v.source[0] in {"answer", "flag"}
    ]
    assert all(held is not None for _, held in found)
    return found


def store_rows(layout: Layout, survey: Survey) -> dict[int, tuple[Any, ...]]:
    """{response id: (language, code of each categorical question variable)} read back."""
    held = [h for _, h in _stored_variables(survey, layout)]
    names = ", ".join(f'"{c.name}"' for c in layout.columns)
    position = {c.name: n for n, c in enumerate(layout.columns, start=2)}
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT response_id, language, {names} FROM "{layout.table}"')
        rows = cursor.fetchall()
    return {
        row[0]: (
            row[1],
            *(
                h.decode(row[position[h.column.name if isinstance(h, Flag) else h.name]])
                for h in held
            ),
        )
        for row in rows
    }


def _category(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return "1" if value is True else ("0" if value is False else str(value))


def store_matches_answers(survey: Survey) -> bool:
    """The store equals the answers (True), or is stale and left to its rebuild (False)."""
    store = AnalyticsTable.objects.get(survey=survey)
    if store.stale:
        return False
    layout = Layout.from_json(store.layout)
    variables = [v for v, _ in _stored_variables(survey, layout)]
    complete = Response.objects.filter(survey=survey, status=Response.Status.COMPLETE)
    expected = {
        response.pk: (response.language, *(_category(value) for value in values))
        for response, values in response_rows(
            survey=survey, variables=variables, responses=complete
        )
    }
    assert store_rows(layout, survey) == expected
    return True
