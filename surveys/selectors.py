"""Read-only queries for the respondent side."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from surveys import conditions, tokens
from surveys.errors import (
    ResponseAlreadySubmitted,
    ResumeLinkExpired,
    ResumeLinkInvalid,
    SurveyNotFound,
)
from surveys.models import Answer, Choice, Page, Question, Response, Survey


def surveys_open() -> list[Survey]:
    """Surveys accepting responses now."""
    candidates = Survey.objects.filter(status=Survey.Status.OPEN).order_by("slug")
    return [survey for survey in candidates if survey.is_accepting()]


def survey_for_respondent(*, slug: str) -> Survey:
    """The survey with this slug if respondents may see it; raises SurveyNotFound (drafts too)."""
    survey = Survey.objects.filter(slug=slug).exclude(status=Survey.Status.DRAFT).first()
    if survey is None:
        raise SurveyNotFound()
    return survey


def survey_pages(*, survey: Survey) -> list[Page]:
    """Pages with their questions, choices and rows, in order (one query per level)."""
    questions = Question.objects.order_by("position").prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("position")), "rows"
    )
    return list(
        survey.pages.order_by("position").prefetch_related(
            Prefetch("questions", queryset=questions)
        )
    )


def first_page_position(*, survey: Survey) -> int:
    page = survey.pages.order_by("position").first()
    return page.position if page else 0


def response_by_resume_token(*, token: str) -> Response:
    """The in-progress response behind a resume link.

    Raises ResumeLinkInvalid, ResumeLinkExpired or ResponseAlreadySubmitted.
    """
    if not token or len(token) > 64:
        raise ResumeLinkInvalid()
    response = (
        Response.objects.select_related("survey")
        .filter(resume_hash=tokens.token_hash(token, purpose=tokens.RESUME))
        .first()
    )
    if response is None:
        raise ResumeLinkInvalid()
    if response.status == Response.Status.COMPLETE:
        raise ResponseAlreadySubmitted()
    if response.resume_expires_at and response.resume_expires_at <= timezone.now():
        raise ResumeLinkExpired()
    return response


def response_answers(*, response: Response) -> tuple[dict[str, Any], dict[str, str]]:
    """({question code: typed value}, {question code: 'other' text}) of a response."""
    values: dict[str, Any] = {}
    others: dict[str, str] = {}
    answers: QuerySet[Answer] = response.answers.select_related("question")
    for answer in answers:
        question = answer.question
        kind = question.type
        if kind == Question.Type.LIKERT_MATRIX:
            values.setdefault(question.code, {})[answer.row] = answer.choice
            continue
        if kind == Question.Type.MULTIPLE_CHOICE:
            values[question.code] = list(answer.choices)
        elif kind == Question.Type.NUMBER:
            values[question.code] = answer.number
        elif kind == Question.Type.YES_NO:
            values[question.code] = answer.boolean
        elif kind in Question.TEXT_TYPES:
            values[question.code] = answer.text
        else:
            values[question.code] = answer.choice
        if answer.text and kind not in Question.TEXT_TYPES:
            others[question.code] = answer.text
    return values, others


def visible_pages(*, pages: list[Page], answers: dict[str, Any]) -> list[Page]:
    """The pages whose skip logic holds for `answers`."""
    return [page for page in pages if conditions.evaluate(page.condition, answers)]


def visible_questions(*, page: Page, answers: dict[str, Any]) -> list[Question]:
    return [q for q in page.questions.all() if conditions.evaluate(q.condition, answers)]
