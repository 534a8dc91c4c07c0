"""One filter: "the responses whose value of a variable is one of these codes".

`variable_matches` gives the condition as a Q object (the statistics API ANDs several of them,
one semi-join each); `responses_where` narrows a query of responses by one code (the admin's
list filters, through `response_filter`). Both read a value the way `reader` does: a yes/no
answer is "1"/"0", a multiple-choice flag is 1 when chosen and 0 when the question was answered
without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from surveys.models import Answer, Response, Survey
from surveys.variables.catalogue import SurveyVariable, provider_of


def _not_filterable(variable: SurveyVariable) -> ValueError:
    return ValueError(f"Variable {variable.name!r} is not categorical and cannot be filtered on.")


def _answer_matches(variable: SurveyVariable, codes: Sequence[str]) -> Q:
    # One semi-join on the answers' (question, row, value) index, whatever the codes.
    answers = Answer.objects.filter(
        response_id=OuterRef("pk"), question_id=variable.source[1], row=variable.source[2]
    )
    if variable.boolean:
        answers = answers.filter(boolean__in=sorted({code == "1" for code in codes}))
    else:
        answers = answers.filter(choice__in=codes)
    return Q(Exists(answers))


def _flag_matches(variable: SurveyVariable, codes: Sequence[str]) -> Q:
    question_id, option = variable.source[1], variable.source[2]
    if connection.vendor == "postgresql":
        answered = Answer.objects.filter(response_id=OuterRef("pk"), question_id=question_id)
        chosen = Q(Exists(answered.filter(choices__contains=[option])))
        answered_q = Q(Exists(answered))
    else:
        # SQLite's JSON fields have no containment lookup: the lists are matched in Python.
        answers = Answer.objects.filter(question_id=question_id)
        chosen = Q(
            pk__in=[
                response_id
                for response_id, choices in answers.values_list("response_id", "choices")
                if option in choices
            ]
        )
        answered_q = Q(pk__in=answers.values("response_id"))
    matching = Q()
    for code in sorted(set(codes)):
        matching |= chosen if code == "1" else answered_q & ~chosen
    return matching


def variable_matches(
    *, variable: SurveyVariable, codes: Sequence[str], survey: Survey | None = None
) -> Q:
    """Responses whose value of categorical `variable` is one of `codes`.

    A derived variable's provider is asked about `survey`'s responses (required for those).
    Raises ValueError when the variable cannot be filtered on.
    """
    origin = variable.source[0] if variable.source else ""
    if not variable.categorical:
        raise _not_filterable(variable)
    if origin == "answer":
        return _answer_matches(variable, codes)
    if origin == "response":
        return Q(**{f"{variable.source[1]}__in": list(codes)})
    if origin == "flag":
        return _flag_matches(variable, codes)
    provider = provider_of(variable)
    if provider is None:
        raise _not_filterable(variable)
    if survey is None:
        raise ValueError(f"Filtering on the derived variable {variable.name!r} needs its survey.")
    matching = Q()
    for code in codes:
        ids = provider.filter(Response.objects.filter(survey=survey), variable, code).values("pk")
        matching |= Q(pk__in=ids)
    return matching


def responses_where(
    *, responses: QuerySet[Response], variable: SurveyVariable, code: str
) -> QuerySet[Response]:
    """Narrow `responses` to those whose value of a categorical `variable` is `code`.

    Raises ValueError when the variable cannot be filtered on.
    """
    provider = provider_of(variable)
    if provider is not None and variable.categorical:
        # The provider narrows the given query itself, without a subquery over the survey.
        return provider.filter(responses, variable, code)
    origin = variable.source[0] if variable.source else ""
    if origin not in {"answer", "response", "flag"}:
        raise _not_filterable(variable)
    return responses.filter(variable_matches(variable=variable, codes=[code]))


def response_filter(
    variable: SurveyVariable, code: str | None = None
) -> Callable[[QuerySet[Response], str], QuerySet[Response]]:
    """A list filter's `apply(queryset, value)` for `variable`: `code` when given, else `value`."""

    def apply(queryset: QuerySet[Response], value: str) -> QuerySet[Response]:
        return responses_where(responses=queryset, variable=variable, code=code or value)

    return apply
