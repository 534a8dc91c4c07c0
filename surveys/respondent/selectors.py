"""Read-only queries for the respondent side."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from surveys.analytics.selectors import statistics_version
from surveys.core import tokens
from surveys.core.cached import cache_seconds, cached
from surveys.core.errors import (
    ResponseAlreadySubmitted,
    ResumeLinkExpired,
    ResumeLinkInvalid,
    SurveyNotFound,
)
from surveys.definitions import conditions
from surveys.definitions.question_types import question_type
from surveys.models import Answer, Choice, MatrixRow, Page, Question, Response, Survey


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


@dataclass(frozen=True)
class _Definition:
    updated_at: datetime
    pages: list[Page]
    questions: dict[int, Question]


# {survey id: its questionnaire}, per process. Every page view needs the whole questionnaire (skip
# logic looks at every page) and it rarely changes, so it is read once rather than four queries
# and a few hundred model instances per request.
_DEFINITIONS: dict[int, _Definition] = {}
_DEFINITIONS_MAX = 64
_DEFINITIONS_LOCK = threading.Lock()


def _definition(survey: Survey) -> _Definition:
    cached = _DEFINITIONS.get(survey.pk)
    # Any change to a page, question, choice or row touches the survey's updated_at in the same
    # transaction (surveys.models), so a survey read now names the definition it must be served.
    if cached is not None and cached.updated_at == survey.updated_at:
        return cached
    questions = Question.objects.order_by("position").prefetch_related(
        # Hidden choices are no longer offered (answers that chose one keep it).
        Prefetch("choices", queryset=Choice.objects.filter(hidden=False).order_by("position")),
        Prefetch("rows", queryset=MatrixRow.objects.order_by("position")),
    )
    # Page.objects, not survey.pages: the cached pages must not hold this request's Survey.
    pages = list(
        Page.objects.filter(survey_id=survey.pk)
        .order_by("position")
        .prefetch_related(Prefetch("questions", queryset=questions))
    )
    definition = _Definition(
        updated_at=survey.updated_at,
        pages=pages,
        questions={q.pk: q for page in pages for q in page.questions.all()},
    )
    with _DEFINITIONS_LOCK:  # threaded servers: evicting while another thread inserts
        if survey.pk not in _DEFINITIONS and len(_DEFINITIONS) >= _DEFINITIONS_MAX:
            _DEFINITIONS.pop(next(iter(_DEFINITIONS)))  # the oldest entry
        _DEFINITIONS[survey.pk] = definition
    return definition


def survey_pages(*, survey: Survey) -> list[Page]:
    """Pages with their questions, choices and rows, in order.

    Cached per process until the survey's questionnaire changes: the objects are shared between
    requests, so callers must only read them.
    """
    return _definition(survey).pages


def first_page_position(*, survey: Survey) -> int:
    """The position of the survey's first page (0 when it has none)."""
    # Not from the cache: callers may hold a Survey read before its pages were added.
    page = Page.objects.filter(survey_id=survey.pk).order_by("position").first()
    return page.position if page else 0


def response_by_resume_token(*, token: str, for_update: bool = False) -> Response:
    """The in-progress response behind a resume link.

    With `for_update` (inside a transaction) its row stays locked until the transaction ends.
    Raises ResumeLinkInvalid, ResumeLinkExpired or ResponseAlreadySubmitted.
    """
    if not token or len(token) > 64:
        raise ResumeLinkInvalid()
    responses = Response.objects.select_related("survey").filter(
        resume_hash=tokens.token_hash(token, purpose=tokens.RESUME)
    )
    if for_update:
        responses = responses.select_for_update(of=("self",))  # not the survey's row
    response = responses.first()
    if response is None:
        raise ResumeLinkInvalid()
    if response.status == Response.Status.COMPLETE:
        raise ResponseAlreadySubmitted()
    if response.resume_expires_at and response.resume_expires_at <= timezone.now():
        raise ResumeLinkExpired()
    return response


def survey_completed_by_post(*, token: str, post: str) -> str | None:
    """The survey slug when the response behind `token` was completed by the page post `post`.

    `post` is the post's page_post_hash: a repeat of the post that completed the response is
    answered as that post was, not as a new one.
    """
    if not token or len(token) > 64 or not post:
        return None
    completed = (
        Response.objects.filter(
            resume_hash=tokens.token_hash(token, purpose=tokens.RESUME),
            status=Response.Status.COMPLETE,
            page_post=post,
        )
        .values_list("survey__slug", flat=True)
        .first()
    )
    return completed


def response_stored_answers(*, response: Response) -> list[Answer]:
    """The answers stored for `response`, in no particular order."""
    # No ORDER BY: the model's ordering joins two tables, and this runs on every page view.
    return list(Answer.objects.filter(response_id=response.pk).order_by())


def response_answers(
    *, response: Response, stored: list[Answer] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """({question code: typed value}, {question code: 'other' text}) of a response.

    `stored` are its answers when the caller has read them already (response_stored_answers).
    """
    questions = _definition(response.survey).questions
    values: dict[str, Any] = {}
    others: dict[str, str] = {}
    lines: dict[str, dict[int, str]] = {}
    if stored is None:
        stored = response_stored_answers(response=response)
    for answer in stored:
        question = questions.get(answer.question_id)
        if question is None:  # not part of this survey's questionnaire
            continue
        kind = question_type(question.type)
        if kind.has_rows:
            values.setdefault(question.code, {})[answer.row] = answer.choice
            continue
        if kind.has_items:
            lines.setdefault(question.code, {})[int(answer.row or 0)] = answer.text
            continue
        value = getattr(answer, kind.value_field)
        values[question.code] = list(value) if kind.value_field == "choices" else value
        if answer.text and not kind.is_text:
            others[question.code] = answer.text
    for code, given in lines.items():  # a multiple short text: its lines in order
        values[code] = [given[number] for number in sorted(given)]
    return values, others


def answers_after_page(*, answers: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` as response_answers reads them once a page's `given` PageValues are saved."""
    merged = dict(answers)
    for code, page_value in given.items():
        if page_value.value in (None, "", [], {}):
            merged.pop(code, None)  # a blank answer clears the stored one
        else:
            merged[code] = page_value.value
    return merged


def visible_pages(*, pages: list[Page], answers: dict[str, Any]) -> list[Page]:
    """The pages whose skip logic holds for `answers`."""
    return [page for page in pages if conditions.evaluate(page.condition, answers)]


def progress_percent(*, pages: list[Page], visible: list[Page], page: Page) -> int:
    """How far a respondent on `page` is, in percent of the longest path still open to them.

    The visible pages before `page` are done; every page from `page` on counts as still to come,
    whether skip logic will show it or not. Each step forward adds one page done and removes at
    least one to come, so the figure only grows going forward, however branches open or close.
    """
    done = sum(1 for other in visible if other.position < page.position)
    to_come = sum(1 for other in pages if other.position >= page.position)
    return int(100 * done / max(done + to_come, 1))


def visible_questions(*, page: Page, answers: dict[str, Any]) -> list[Question]:
    return [q for q in page.questions.all() if conditions.evaluate(q.condition, answers)]


def responses_answered(*, survey: Survey) -> int | None:
    """How many have answered so far, as published: None below the survey's minimum cell size.

    The complete responses (test responses never count), rounded down to a multiple of the
    minimum cell size k: the figure moves once per k responses, never with one respondent, and
    says nothing until k have answered.
    """
    k = survey.min_cell_size
    complete = _complete_count(survey)
    return complete // k * k if complete >= k else None


def _complete_count(survey: Survey) -> int:
    """The survey's complete responses, counted once per data version (the statistics' cache).

    Every landing and results page shows the counter, and the count reads every response row;
    the data version moves on with each write that changes it, as for the published tables.
    """
    seconds = cache_seconds()
    count = Response.objects.filter(survey=survey, status=Response.Status.COMPLETE).count
    if seconds <= 0:
        return count()
    key = f"answered:{survey.pk}:{statistics_version(survey_id=survey.pk)}"
    # Read on every landing page: kept in each process too (the key moves with the version).
    return int(
        cached(key=key, seconds=seconds, compute=count, what="responses answered", in_process=True)
    )


def response_by_receipt(*, receipt_code: str) -> Response | None:
    """The complete response a receipt code belongs to, or None."""
    digest = tokens.token_hash(tokens.normalise_receipt_code(receipt_code), purpose=tokens.RECEIPT)
    return Response.objects.filter(receipt_hash=digest).select_related("survey").first()


def response_closed_answers(*, response: Response) -> dict[str, Any]:
    """{question code: value} of a response's answers to closed questions (no text at all).

    Choice codes, lists of codes (multiple choice), {row: code} (matrices), booleans (yes/no)
    and numbers as strings: what a page may hold for its respondent to compare with everyone's.
    """
    questions = {q.code: q for q in _definition(response.survey).questions.values()}
    values, _others = response_answers(response=response)
    closed: dict[str, Any] = {}
    for code, value in values.items():
        question = questions.get(code)
        if question is None or question_type(question.type).is_text:
            continue
        closed[code] = str(value) if question.type == Question.Type.NUMBER else value
    return closed
