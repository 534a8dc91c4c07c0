"""One row reader: a survey's responses as rows of variable values, in flat memory.

`variable_rows` is the reader everyone calls for a survey's responses of one status (exports,
the dashboard, benchmarks); `response_rows` reads any query of responses (the statistics API,
raw-data pages). On PostgreSQL `variable_rows` reads plain columns chunk by chunk (no model
instance or ORM converter per answer, the next chunk read ahead on a second connection; see
`surveys.variables.postgresql`); elsewhere, or with `portable=True`, it reads through
`response_rows`. Both paths take how an answer becomes a value from `answer_mode` and
`answer_value`, and time spent from `surveys.models.time_spent` (all in
`surveys.variables.sources`), so they yield the same rows (tests/exports/test_reader.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from surveys.core.databases import read_database
from surveys.models import Answer, Question, Response, Survey
from surveys.variables.catalogue import SurveyVariable, provider_of
from surveys.variables.postgresql import postgresql_rows, read_plan
from surveys.variables.sources import (
    QUESTION_ORIGINS,
    AnswerMode,
    answer_mode,
    answer_value,
    seconds_spent,
    survey_responses,
)

__all__ = ["PORTABLE_CHUNK", "response_rows", "variable_rows"]

# Responses read per query by the portable reader when called through `variable_rows`.
PORTABLE_CHUNK = 250


def variable_rows(
    *,
    survey: Survey,
    variables: Sequence[SurveyVariable],
    status: str = "complete",
    portable: bool = False,
) -> Iterator[list[Any]]:
    """Raw values aligned with `variables`, one list per response of `status`, in id order.

    On PostgreSQL plain queries read the chunks; elsewhere, or with `portable`, `response_rows`
    does. Both yield the same rows; blank values of non-text variables are missing (None).
    """
    plan = None
    if not portable and connection.vendor == "postgresql":
        plan = read_plan(variables)
    if plan is not None:
        yield from postgresql_rows(survey, plan, status)
        return
    queryset = survey_responses(survey=survey, status=status).using(read_database())
    # An empty string is no category, number or time: it is a missing value.
    blank_is_missing = [i for i, v in enumerate(variables) if v.kind != "text"]
    for _response, values in response_rows(
        survey=survey, variables=variables, responses=queryset, chunk_size=PORTABLE_CHUNK
    ):
        for i in blank_is_missing:
            if values[i] == "":
                values[i] = None
        yield values


# --- the portable reader (any database, any query of responses) ----------------------------------
@dataclass
class _PortablePlan:
    """Where the portable reader puts each value, worked out once per call."""

    variables: Sequence[SurveyVariable]
    by_source: dict[tuple[Any, ...], int]
    by_name: dict[str, int]
    question_ids: set[int]
    modes: dict[int, AnswerMode]  # position -> how its answer becomes a value
    multi: set[int]  # multiple-choice questions
    flags: list[tuple[int, int]]  # (position, question id) of multi_flag columns
    from_response: list[tuple[int, str]]  # (position, attribute)
    providers: dict[str, tuple[Any, list[SurveyVariable]]]


def _portable_plan(variables: Sequence[SurveyVariable]) -> _PortablePlan:
    question_ids = {v.source[1] for v in variables if v.source and v.source[0] in QUESTION_ORIGINS}
    types = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "type"))
    modes = {
        i: answer_mode(v, types.get(v.source[1], ""))
        for i, v in enumerate(variables)
        if v.source and v.source[0] == "answer"
    }
    providers: dict[str, tuple[Any, list[SurveyVariable]]] = {}
    for variable in variables:
        provider = provider_of(variable)
        if provider is not None:
            providers.setdefault(provider.name, (provider, []))[1].append(variable)
    return _PortablePlan(
        variables=variables,
        by_source={v.source: i for i, v in enumerate(variables)},
        by_name={v.name: i for i, v in enumerate(variables)},
        question_ids=question_ids,
        modes=modes,
        multi={pk for pk, kind in types.items() if kind == Question.Type.MULTIPLE_CHOICE},
        flags=[
            (i, v.source[1])
            for i, v in enumerate(variables)
            if v.kind == "multi_flag" and v.source and v.source[0] == "flag"
        ],
        from_response=[
            (i, v.source[1])
            for i, v in enumerate(variables)
            if v.source and v.source[0] == "response"
        ],
        providers=providers,
    )


def response_rows(
    *,
    survey: Survey,
    variables: Sequence[SurveyVariable],
    responses: QuerySet[Response],
    chunk_size: int = 2000,
) -> Iterator[tuple[Response, list[Any]]]:
    """Yield (response, values aligned with `variables`) in constant memory, chunk by chunk."""
    plan = _portable_plan(variables)
    last_id = 0
    base = responses.order_by("pk")
    while True:
        chunk = list(base.filter(pk__gt=last_id)[:chunk_size])
        if not chunk:
            return
        last_id = chunk[-1].pk
        rows: dict[int, list[Any]] = {r.pk: [None] * len(variables) for r in chunk}
        answered_multi = _fill_answers(plan, rows, responses.db)
        _fill_responses(plan, chunk, rows, answered_multi)
        _fill_provided(plan, survey, [r.pk for r in chunk], rows)
        for response in chunk:
            yield response, rows[response.pk]


def _fill_answers(
    plan: _PortablePlan, rows: dict[int, list[Any]], using: str
) -> set[tuple[int, int]]:
    """Put the chunk's answers in their rows; returns the multiple choices answered."""
    # Plain tuples, not model instances: this loop runs once per stored answer.
    answers = (
        Answer.objects.using(using)
        .filter(response_id__in=list(rows), question_id__in=plan.question_ids)
        .values_list(
            "response_id", "question_id", "row", "choice", "choices", "number", "boolean", "text"
        )
    )
    by_source = plan.by_source
    answered_multi: set[tuple[int, int]] = set()
    for (
        response_id,
        question_id,
        row_code,
        choice,
        choices,
        number,
        boolean,
        text,
    ) in answers.iterator(chunk_size=5000):
        row = rows[response_id]
        if question_id in plan.multi:
            answered_multi.add((response_id, question_id))
        position = by_source.get(("answer", question_id, row_code))
        if position is not None:
            row[position] = answer_value(plan.modes[position], choice, number, boolean, text)
        for code in choices or ():
            flag = by_source.get(("flag", question_id, code))
            if flag is not None:
                row[flag] = 1
        other = by_source.get(("other", question_id))
        if other is not None and text:
            row[other] = text
    return answered_multi


def _fill_responses(
    plan: _PortablePlan,
    chunk: list[Response],
    rows: dict[int, list[Any]],
    answered_multi: set[tuple[int, int]],
) -> None:
    for response in chunk:
        row = rows[response.pk]
        # A multiple-choice question answered without an option is "not selected", not missing.
        for i, question_id in plan.flags:
            if row[i] is None and (response.pk, question_id) in answered_multi:
                row[i] = 0
        for i, attribute in plan.from_response:
            row[i] = _response_value(response, attribute)


def _response_value(response: Response, attribute: str) -> Any:
    if attribute == "duration":
        return seconds_spent(response.page_seconds)
    return getattr(response, attribute)


def _fill_provided(
    plan: _PortablePlan, survey: Survey, ids: list[int], rows: dict[int, list[Any]]
) -> None:
    for provider, wanted in plan.providers.values():
        for response_id, values in provider.values(survey, wanted, ids).items():
            row = rows.get(response_id)
            if row is None:
                continue
            for variable in wanted:
                if variable.name in values:
                    row[plan.by_name[variable.name]] = values[variable.name]
