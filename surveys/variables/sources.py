"""What both readers share: the responses of a status, and how a stored answer becomes a value.

`reader` (the portable reader, any database) and `postgresql` (plain columns, chunk by chunk)
take these from here, so that they yield the same rows.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from surveys.models import Question, Response, Survey, time_spent
from surveys.variables.catalogue import SurveyVariable

ALL = "all"  # the status that selects every response, complete or not
QUESTION_ORIGINS = frozenset({"answer", "flag", "other"})


class AnswerMode(enum.IntEnum):
    """Which column of an answer holds a variable's value."""

    CHOICE = 0
    NUMBER = 1
    TEXT = 2
    BOOLEAN = 3


def answer_mode(variable: SurveyVariable, question_type: str) -> AnswerMode:
    """How the answers of a question of `question_type` fill `variable` (an "answer" source)."""
    if question_type == Question.Type.YES_NO:
        return AnswerMode.BOOLEAN
    if variable.kind == "numeric":
        return AnswerMode.NUMBER
    if variable.kind == "text":
        return AnswerMode.TEXT
    return AnswerMode.CHOICE


def answer_value(
    mode: AnswerMode, choice: str, number: Any, boolean: bool | None, text: str
) -> Any:
    """The value of one stored answer in a column read as `mode`; yes/no as "1"/"0"."""
    if mode == AnswerMode.BOOLEAN:
        return None if boolean is None else ("1" if boolean else "0")
    if mode == AnswerMode.NUMBER:
        return number
    if mode == AnswerMode.TEXT:
        return text
    return choice


# `answer_value` in SQL, over an answer aliased `a`: what the PostgreSQL reader selects for a cell,
# blank choices already missing (tests/exports/test_reader.py holds the two readers equal).
ANSWER_SQL = {
    AnswerMode.CHOICE: "NULLIF(a.choice, '')",
    AnswerMode.NUMBER: "a.number",
    AnswerMode.TEXT: "a.text",
    AnswerMode.BOOLEAN: "CASE WHEN a.boolean THEN '1' WHEN NOT a.boolean THEN '0' END",
}


def seconds_spent(page_seconds: Any) -> Decimal | None:
    """The duration variable's value: time spent as a Decimal (a scale number), or None."""
    seconds = time_spent(page_seconds)
    return None if seconds is None else Decimal(seconds)


def survey_responses(*, survey: Survey, status: str = "complete") -> QuerySet[Response]:
    """The survey's responses of `status` ("complete", "in_progress", or "all")."""
    queryset = Response.objects.filter(survey=survey)
    if status != ALL:
        queryset = queryset.filter(status=status)
    return queryset


# `seconds_spent` in SQL for PostgreSQL's reader: a LATERAL subquery over a response aliased `r`
# giving `spent`, the time spent when every page timing is a whole JSON number (NULL when
# nothing was timed), and `pages`, the page timings as JSON when some timing is anything else,
# to be read by `seconds_spent` (then `spent` is NULL). tests/variables/test_time_spent.py
# holds the two equal.
TIME_SPENT_SQL = (
    "LATERAL (SELECT CASE WHEN x.odd THEN NULL ELSE x.spent END AS spent, "
    "CASE WHEN x.odd THEN r.page_seconds END AS pages FROM (SELECT "
    "sum(CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value)::numeric END) AS spent, "
    "coalesce(bool_or(jsonb_typeof(e.value) <> 'number' OR "
    "scale(CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value)::numeric END) > 0), false) "
    "OR jsonb_typeof(r.page_seconds) NOT IN ('object', 'null') AS odd "
    "FROM jsonb_each(CASE WHEN jsonb_typeof(r.page_seconds) = 'object' "
    "THEN r.page_seconds END) e) x) t"
)
