"""Test responses: a researcher answering the preview, through the respondent's own services.

A test response is a Response with ``is_test``: its answers are saved, checked and navigated by
the same code as a respondent's (skip logic, validation), but ``Response.objects`` leaves it out,
so the dashboard, statistics, API and exports never see it, and completing it announces nothing
to the classifier. It lives until a researcher deletes the survey's test responses (audited).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from surveys.core import access, tokens
from surveys.models import AuditEntry, Page, Response, Survey
from surveys.respondent import selectors, services


def response_test_start(*, survey: Survey, language: str) -> Response:
    """A new in-progress test response of `survey` (any status: drafts are tested too)."""
    now = timezone.now().replace(second=0, microsecond=0)
    return Response.all_objects.create(
        public_id=tokens.new_public_id(),
        survey=survey,
        language=language if language in survey.languages else survey.default_language,
        started_at=now,
        current_page=selectors.first_page_position(survey=survey),
        is_test=True,
    )


def response_test_in_progress(*, survey: Survey, pk: Any) -> Response | None:
    """The in-progress test response `pk` of `survey`, or None (deleted, finished, not a test)."""
    if not isinstance(pk, int):
        return None
    return (
        Response.all_objects.select_related("survey")
        .filter(pk=pk, survey=survey, is_test=True, status=Response.Status.IN_PROGRESS)
        .first()
    )


def next_visible_page(*, pages: list[Page], page: Page, answers: Mapping[str, Any]) -> Page | None:
    """The first page after `page` whose skip logic holds for `answers` (None: the end)."""
    for candidate in selectors.visible_pages(pages=pages, answers=dict(answers)):
        if candidate.position > page.position:
            return candidate
    return None


def previous_visible_page(
    *, pages: list[Page], page: Page, answers: Mapping[str, Any]
) -> Page | None:
    """The last page before `page` whose skip logic holds for `answers` (None: none)."""
    earlier = [
        candidate
        for candidate in selectors.visible_pages(pages=pages, answers=dict(answers))
        if candidate.position < page.position
    ]
    return earlier[-1] if earlier else None


@transaction.atomic
def response_test_save(
    *,
    response: Response,
    pages: list[Page],
    page: Page,
    values: Mapping[str, services.PageValue],
    language: str,
    finish: bool,
) -> Page | None:
    """Save a test response's answers on `page`; returns the next page skip logic shows.

    With `finish` and no page left the test response is completed (and None returned).
    """
    services.response_save_page(response=response, page=page, values=values, language=language)
    answers, _others = selectors.response_answers(response=response)
    following = next_visible_page(pages=pages, page=page, answers=answers)
    if following is None and finish:
        services.response_complete(response=response)
    return following


@transaction.atomic
def responses_test_delete(*, survey: Survey, actor: Any) -> int:
    """Delete every test response of `survey` with its answers; audited. Returns how many."""
    tests = Response.all_objects.filter(survey=survey, is_test=True)
    count = tests.count()
    if count:
        tests.delete()
        access.audit_record(
            actor=actor,
            action=AuditEntry.Action.SURVEY,
            survey=survey,
            summary=f"Deleted {count} test response(s) of {survey.slug}",
            details={"test_responses": count},
        )
    return count


def responses_test_count(*, survey: Survey) -> int:
    """How many test responses `survey` holds."""
    return Response.all_objects.filter(survey=survey, is_test=True).count()
