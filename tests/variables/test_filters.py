"""The one filter selects exactly the responses whose value, as the reader reads it, is the code."""

from __future__ import annotations

import pytest

from surveys.management.commands.generate_responses import generate
from surveys.models import Response
from surveys.variables.catalogue import survey_variables
from surveys.variables.filters import responses_where, variable_matches
from surveys.variables.reader import response_rows


def _code(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


@pytest.mark.django_db
def test_filters_agree_with_the_reader(default_survey):  # type: ignore[no-untyped-def]
    list(generate(survey=default_survey, count=40, seed=3, batch=40))
    responses = Response.objects.filter(survey=default_survey)
    variables = [v for v in survey_variables(survey=default_survey) if v.categorical]
    values = {
        response.pk: row
        for response, row in response_rows(
            survey=default_survey, variables=variables, responses=responses
        )
    }
    checked = 0
    for position, variable in enumerate(variables):
        codes = sorted({c for row in values.values() if (c := _code(row[position])) is not None})
        for code in codes[:4]:
            expected = {pk for pk, row in values.items() if _code(row[position]) == code}
            narrowed = responses_where(responses=responses, variable=variable, code=code)
            matching = responses.filter(
                variable_matches(survey=default_survey, variable=variable, codes=[code])
            )
            assert set(narrowed.values_list("pk", flat=True)) == expected, (variable.name, code)
            assert set(matching.values_list("pk", flat=True)) == expected, (variable.name, code)
            checked += 1
    assert checked > 20


@pytest.mark.django_db
def test_a_text_variable_cannot_be_filtered_on(default_survey):  # type: ignore[no-untyped-def]
    text = next(v for v in survey_variables(survey=default_survey) if v.kind == "text")
    with pytest.raises(ValueError, match="cannot be filtered on"):
        responses_where(responses=Response.objects.all(), variable=text, code="x")
    with pytest.raises(ValueError, match="cannot be filtered on"):
        variable_matches(survey=default_survey, variable=text, codes=["x"])
