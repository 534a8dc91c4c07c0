"""Reads behind the API: a user's surveys, one survey's structure, pages of raw responses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib.auth.models import User as UserModel
from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from surveys.core.access import surveys_for
from surveys.models import Page, Question, Response, ResponseTombstone, Survey, SurveyRole
from surveys.variables.catalogue import SurveyVariable, survey_variables
from surveys.variables.reader import response_rows

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# Variables whose source is one of these come from the survey itself; any other origin is a
# registered provider (the classifier's codebooks), described here without importing it.
_OWN_ORIGINS = {"response", "answer", "flag", "other"}


def _complete_counts() -> Subquery:
    counts = (
        Response.objects.filter(survey=OuterRef("pk"), status=Response.Status.COMPLETE)
        .order_by()
        .values("survey")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counts, output_field=IntegerField())


class SurveyListAnnotations(TypedDict):
    """What `api_surveys_for` adds to each survey."""

    user_role: str | None
    responses_complete: int


def api_surveys_for(*, user: UserModel) -> QuerySet[WithAnnotations[Survey, SurveyListAnnotations]]:
    """The surveys whose statistics `user` (signed in) may read, with role and complete count."""
    role = SurveyRole.objects.filter(survey=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    return (
        surveys_for(user=user, permission="statistics")
        .annotate(
            user_role=Subquery(role),
            responses_complete=Coalesce(_complete_counts(), Value(0)),
        )
        .order_by("slug")
    )


def api_survey_complete_count(*, survey: Survey) -> int:
    return Response.objects.filter(survey=survey, status=Response.Status.COMPLETE).count()


def api_survey_pages(*, survey: Survey) -> list[Page]:
    """The survey's pages with their questions, choices and matrix rows (four queries)."""
    questions = Question.objects.order_by("position").prefetch_related("choices", "rows")
    return list(
        Page.objects.filter(survey=survey)
        .order_by("position")
        .prefetch_related(Prefetch("questions", queryset=questions))
    )


def _variable_dict(variable: SurveyVariable) -> dict[str, Any]:
    return {
        "name": variable.name,
        "label": variable.label,
        "kind": variable.kind,
        "measure": variable.measure,
        "categorical": variable.categorical,
        "group": variable.group,
        "value_labels": variable.value_labels,
        "definitions": variable.definitions,
    }


def _codebooks(variables: Sequence[SurveyVariable]) -> list[dict[str, Any]]:
    groups: dict[str, list[SurveyVariable]] = {}
    for variable in variables:
        if variable.source and variable.source[0] not in _OWN_ORIGINS:
            groups.setdefault(variable.group, []).append(variable)
    result = []
    for group, members in groups.items():
        question, _, codebook = group.partition(":")
        categories: list[dict[str, Any]] = []
        # The variables that carry category definitions are the codings themselves (a category
        # column, or one 0/1 column per category); confidence and review columns carry none.
        for variable in members:
            if not variable.definitions:
                continue
            if variable.kind == "multi_flag":
                categories.append(
                    {
                        "code": variable.name,
                        "variable": variable.name,
                        "label": variable.label,
                        "definition": variable.definitions.get("1", {}),
                    }
                )
            else:
                categories += [
                    {
                        "code": code,
                        "variable": variable.name,
                        "label": label,
                        "definition": variable.definitions.get(code, {}),
                    }
                    for code, label in variable.value_labels.items()
                ]
        result.append(
            {
                "group": group,
                "question": question,
                "codebook": codebook,
                "multilabel": any(v.kind == "multi_flag" for v in members),
                "variables": [v.name for v in members],
                "categories": categories,
            }
        )
    return result


def api_survey_detail(*, survey: Survey, role: str | None) -> dict[str, Any]:
    """Everything the detail endpoint shows: wording, pages, variables and codebooks."""
    variables = survey_variables(survey=survey)
    return {
        "slug": survey.slug,
        "title": survey.title,
        "description": survey.description,
        "status": survey.status,
        "languages": survey.languages,
        "default_language": survey.default_language,
        "public_statistics": survey.public_statistics,
        "min_cell_size": survey.min_cell_size,
        "role": role,
        "responses_complete": api_survey_complete_count(survey=survey),
        "pages": [
            {
                "code": page.code,
                "position": page.position,
                "title": page.title,
                "condition": page.condition,
                "questions": [
                    {
                        "code": q.code,
                        "type": q.type,
                        "text": q.text,
                        "help_text": q.help_text,
                        "required": q.required,
                        "classify": q.classify,
                        "scale": q.scale,
                        "min_value": q.min_value,
                        "max_value": q.max_value,
                        "integer": q.integer,
                        "unit": q.unit,
                        "condition": q.condition,
                        "choices": list(q.choices.all()),
                        "rows": list(q.rows.all()),
                    }
                    for q in page.questions.all()
                ],
            }
            for page in api_survey_pages(survey=survey)
        ],
        "variables": [_variable_dict(v) for v in variables],
        "codebooks": _codebooks(variables),
    }


def api_responses(
    *, survey: Survey, status: str = "complete", updated_since: datetime | None = None
) -> QuerySet[Response]:
    """The survey's responses for the raw data endpoint (paginated by the caller)."""
    responses = Response.objects.filter(survey=survey)
    if status != "all":
        responses = responses.filter(status=status)
    if updated_since is not None:
        responses = responses.filter(updated_at__gt=updated_since)
    return responses


def api_tombstones(
    *, survey: Survey, deleted_since: datetime | None = None
) -> QuerySet[ResponseTombstone]:
    """The survey's withdrawn responses for the sync endpoint (paginated by the caller)."""
    tombstones = ResponseTombstone.objects.filter(survey=survey)
    if deleted_since is not None:
        tombstones = tombstones.filter(deleted_at__gt=deleted_since)
    return tombstones


def api_response_values(
    *, survey: Survey, responses: Sequence[Response]
) -> list[tuple[Response, dict[str, Any]]]:
    """(response, {variable name: value}) for one page of responses, in the page's order."""
    variables = survey_variables(survey=survey)
    ids = [r.pk for r in responses]
    rows = response_rows(
        survey=survey, variables=variables, responses=Response.objects.filter(pk__in=ids)
    )
    values = {
        response.pk: {v.name: value for v, value in zip(variables, row, strict=True)}
        for response, row in rows
    }
    return [(response, values.get(response.pk, {})) for response in responses]
