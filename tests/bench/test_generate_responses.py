"""The synthetic response generator writes complete, valid responses (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from surveys import reference
from surveys.definitions import conditions
from surveys.management.commands.generate_responses import generate
from surveys.models import Answer, Question, Response
from surveys.variables.catalogue import survey_variables
from surveys.variables.reader import response_rows

COUNT = 50


def _values(answers: list[Answer]) -> dict[str, Any]:
    """Answers in the shape skip logic reads (as surveys.respondent.selectors builds them)."""
    values: dict[str, Any] = {}
    for a in answers:
        kind = a.question.type
        if kind == Question.Type.LIKERT_MATRIX:
            values.setdefault(a.question.code, {})[a.row] = a.choice
        elif kind == Question.Type.MULTIPLE_CHOICE:
            values[a.question.code] = list(a.choices)
        elif kind == Question.Type.NUMBER:
            values[a.question.code] = a.number
        elif kind == Question.Type.YES_NO:
            values[a.question.code] = a.boolean
        elif kind in Question.TEXT_TYPES:
            values[a.question.code] = a.text
        else:
            values[a.question.code] = a.choice
    return values


def _check_answer(a: Answer) -> None:
    q = a.question
    codes = {c.code for c in q.choices.all()}
    kind = q.type
    if kind == Question.Type.LIKERT_MATRIX:
        assert a.row in {r.code for r in q.rows.all()}
        assert a.choice in codes
        return
    if kind == Question.Type.MULTIPLE_SHORT_TEXT:  # each line its own row "1".."n"
        assert a.row.isdigit() and 1 <= int(a.row) <= q.item_count
        assert a.text and len(a.text) <= q.effective_max_length
        return
    assert a.row == ""
    if kind in {Question.Type.SINGLE_CHOICE, Question.Type.LIKERT}:
        assert a.choice in codes
        if a.text:
            assert a.choice in {c.code for c in q.choices.all() if c.is_other}
    elif kind == Question.Type.OCCUPATION:
        assert a.choice in reference.occupation_codes()
    elif kind == Question.Type.COUNTRY:
        assert a.choice in reference.country_codes()
    elif kind == Question.Type.MULTIPLE_CHOICE:
        _check_multiple_choice(a, codes)
    elif kind == Question.Type.NUMBER:
        _check_number(a)
    elif kind == Question.Type.YES_NO:
        assert a.boolean is not None
    else:
        assert a.text and len(a.text) <= q.effective_max_length


def _check_multiple_choice(a: Answer, codes: set[str]) -> None:
    assert a.choices and set(a.choices) <= codes
    assert len(set(a.choices)) == len(a.choices)
    exclusive = {c.code for c in a.question.choices.all() if c.exclusive}
    if exclusive & set(a.choices):
        assert len(a.choices) == 1


def _check_number(a: Answer) -> None:
    q = a.question
    assert a.number is not None
    if q.min_value is not None:
        assert a.number >= q.min_value
    if q.max_value is not None:
        assert a.number <= q.max_value
    if q.integer:
        assert a.number == a.number.to_integral_value()


def _check_survey(survey: Any) -> None:
    responses = list(Response.objects.filter(survey=survey))
    assert len(responses) == COUNT
    pages = list(survey.pages.order_by("position").prefetch_related("questions"))
    questions = {
        q.pk: q for q in Question.objects.filter(survey=survey).prefetch_related("choices", "rows")
    }
    by_response: dict[int, list[Answer]] = {}
    for answer in Answer.objects.filter(response__survey=survey):
        answer.question = questions[answer.question_id]
        by_response.setdefault(answer.response_id, []).append(answer)
    assert len({r.public_id for r in responses}) == COUNT
    for response in responses:
        assert response.status == Response.Status.COMPLETE
        assert response.submitted_at is not None
        assert response.started_at <= response.submitted_at
        assert response.language in survey.languages
        answers = by_response.get(response.pk, [])
        values = _values(answers)
        for answer in answers:
            _check_answer(answer)
        answered_pages = {a.question.page_id for a in answers}
        for page in pages:
            visible = conditions.evaluate(page.condition, values)
            if not visible:
                assert page.pk not in answered_pages, f"answers on hidden page {page.code}"
                continue
            for q in page.questions.all():
                if not q.required or not conditions.evaluate(q.condition, values):
                    continue
                assert q.code in values, f"required {q.code} unanswered"
                if q.type == Question.Type.LIKERT_MATRIX:
                    assert set(values[q.code]) == {r.code for r in q.rows.all()}


@pytest.mark.django_db
def test_command_generates_complete_valid_responses(default_survey: Any) -> None:
    call_command("generate_responses", survey=default_survey.slug, count=COUNT, seed=3, batch=20)
    _check_survey(default_survey)


@pytest.mark.django_db
def test_bulk_create_path_on_any_database(default_survey: Any) -> None:
    written = list(generate(survey=default_survey, count=COUNT, seed=4, batch=30, copy=False))
    assert [size for size, _ in written] == [30, 20]
    _check_survey(default_survey)


@pytest.mark.django_db
def test_variables_read_back(default_survey: Any) -> None:
    list(generate(survey=default_survey, count=COUNT, seed=5, batch=50))
    variables = survey_variables(survey=default_survey)
    index = {v.name: i for i, v in enumerate(variables)}
    rows = list(
        response_rows(
            survey=default_survey,
            variables=variables,
            responses=Response.objects.filter(survey=default_survey),
        )
    )
    assert len(rows) == COUNT
    for _response, values in rows:
        assert values[index["status"]] == "complete"
        assert values[index["occupation"]] in reference.occupation_codes()
        assert values[index["country"]] in reference.country_codes()
        assert values[index["employment_type"]]
        assert values[index["lost_work"]] in {"0", "1"}
        assert values[index["exposure_matrix_rates_fallen"]] in {"1", "2", "3", "4", "5", "na"}
        # Required multiple choice: each option is a 0/1 flag, never missing.
        assert all(values[index[f"tools_used_{c}"]] in {0, 1} for c in ("sora", "none"))
        years = values[index["years_experience"]]
        assert years is None or Decimal(0) <= years <= Decimal(70)


def _index_definitions() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes "
            "WHERE tablename IN ('surveys_answer', 'surveys_response')"
        )
        return {row[0] for row in cursor.fetchall()}


def _require_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("COPY and index rebuilding need PostgreSQL (set DATABASE_URL)")


@pytest.mark.django_db(transaction=True)
def test_large_load_rebuilds_every_index(default_survey: Any) -> None:
    _require_postgresql()
    before = _index_definitions()
    written = list(
        generate(survey=default_survey, count=COUNT, seed=6, batch=20, defer_indexes=True)
    )
    assert [size for size, _ in written] == [20, 20, 10]
    assert _index_definitions() == before
    _check_survey(default_survey)


@pytest.mark.django_db(transaction=True)
def test_interrupted_large_load_leaves_the_database_as_it_was(default_survey: Any) -> None:
    _require_postgresql()
    before = _index_definitions()
    batches = generate(survey=default_survey, count=COUNT, seed=7, batch=20, defer_indexes=True)
    next(batches)
    batches.close()  # as when the command is interrupted after its first batch
    assert _index_definitions() == before
    assert not Response.objects.filter(survey=default_survey).exists()
    assert not Answer.objects.filter(response__survey=default_survey).exists()


@pytest.mark.django_db
def test_command_leaves_the_analytics_store_complete(default_survey: Any) -> None:
    from surveys.models import AnalyticsTable
    from tests.analytics.helpers import store_matches_answers

    call_command("generate_responses", survey=default_survey.slug, count=COUNT, seed=8, batch=20)
    assert store_matches_answers(default_survey)  # COPY on PostgreSQL, bulk_create elsewhere
    call_command("generate_responses", survey=default_survey.slug, count=10, seed=9)
    assert store_matches_answers(default_survey)
    store = AnalyticsTable.objects.get(survey=default_survey)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{store.table}"')
        assert cursor.fetchone()[0] == COUNT + 10
