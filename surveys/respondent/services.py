"""Services that change survey data: start, save, complete and withdraw responses; invitations."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from surveys.core import tokens
from surveys.core.errors import (
    InvitationRequired,
    InvitationUsed,
    ReceiptCodeInvalid,
    ResponseAlreadySubmitted,
    SurveyClosed,
)
from surveys.definitions.question_types import question_type
from surveys.models import Answer, Invitation, Page, Question, Response, Survey
from surveys.respondent import selectors
from surveys.signals import response_completed

MAX_PAGE_SECONDS = 60 * 60  # longer than an hour on one page is a break, not time spent


@dataclass(frozen=True)
class PageValue:
    """What a respondent gave for one question: a typed value and any 'other' text."""

    value: Any
    other: str = ""


def _to_minute(moment: datetime) -> datetime:
    # Research needs minutes, not microseconds; coarser timestamps make responses harder to link.
    return moment.replace(second=0, microsecond=0)


@transaction.atomic
def response_start(
    *, survey: Survey, language: str, invitation_token: str | None = None
) -> tuple[Response, str]:
    """Create an in-progress response after consent; returns it with its private resume token.

    Raises SurveyClosed, InvitationRequired or InvitationUsed.
    """
    if not survey.is_accepting():
        raise SurveyClosed()
    if survey.invitation_only:
        if not invitation_token:
            raise InvitationRequired()
        invitation = (
            Invitation.objects.select_for_update()
            .filter(
                survey=survey,
                token_hash=tokens.token_hash(invitation_token, purpose=tokens.INVITATION),
            )
            .first()
        )
        if invitation is None:
            raise InvitationRequired()
        if invitation.used_at is not None:
            raise InvitationUsed()
        # Marked used without linking it to the response: invitations must not identify answers.
        invitation.used_at = _to_minute(timezone.now())
        invitation.save(update_fields=["used_at"])
    resume_token = tokens.new_token()
    now = timezone.now()
    response = Response.objects.create(
        public_id=tokens.new_public_id(),
        survey=survey,
        language=language if language in survey.languages else survey.default_language,
        started_at=_to_minute(now),
        current_page=selectors.first_page_position(survey=survey),
        resume_hash=tokens.token_hash(resume_token, purpose=tokens.RESUME),
        resume_expires_at=now + timedelta(days=settings.EXPOSURE_RESUME_DAYS),
    )
    return response, resume_token


def response_save_page(
    *,
    response: Response,
    page: Page,
    values: Mapping[str, PageValue],
    seconds: float | None = None,
    language: str | None = None,
    stored: list[Answer] | None = None,
) -> Response:
    """Store the answers given on `page` (only its questions; cleared answers are removed).

    `stored`: the response's answers, read in the caller's transaction after locking the
    response (response_by_resume_token with for_update); they are then not read again.
    Raises ResponseAlreadySubmitted when the response is complete.
    """
    _check_locked_by_caller(stored)
    with transaction.atomic(savepoint=stored is None):
        locked = response if stored is not None else _lock_in_progress(response)
        _save_answers(locked, response.survey, page, values, seconds, language, stored)
        locked.save(update_fields=["page_seconds", "language", "updated_at"])
    return locked


def response_save_and_continue(
    *,
    response: Response,
    page: Page,
    values: Mapping[str, PageValue],
    next_position: int | None,
    seconds: float | None = None,
    language: str | None = None,
    stored: list[Answer] | None = None,
) -> str | None:
    """Store the answers given on `page`, then show the page at `next_position`, in one commit.

    With `next_position` None the response is complete instead: returns its receipt code (shown
    once) and announces it on commit. `stored` as for response_save_page. Raises
    ResponseAlreadySubmitted when the response was complete.
    """
    _check_locked_by_caller(stored)
    with transaction.atomic(savepoint=stored is None):
        locked = response if stored is not None else _lock_in_progress(response)
        _save_answers(locked, response.survey, page, values, seconds, language, stored)
        fields = ["page_seconds", "language", "updated_at"]
        if next_position is not None:
            locked.current_page = next_position
            locked.save(update_fields=[*fields, "current_page"])
            return None
        receipt = _mark_complete(locked)
        locked.save(update_fields=[*fields, *_COMPLETE_FIELDS])
        _announce_complete(locked)
    return receipt


def _check_locked_by_caller(stored: list[Answer] | None) -> None:
    # With `stored` the caller's transaction holds the response's lock and undoes everything on
    # any error, so the services above open no savepoint of their own (two round trips a page).
    if stored is not None and not transaction.get_connection().in_atomic_block:
        raise ValueError("`stored` answers need the transaction that locked the response.")


def _lock_in_progress(response: Response) -> Response:
    locked = Response.objects.select_for_update().get(pk=response.pk)
    if locked.status == Response.Status.COMPLETE:
        raise ResponseAlreadySubmitted()
    return locked


def _save_answers(
    response: Response,
    survey: Survey,
    page: Page,
    values: Mapping[str, PageValue],
    seconds: float | None,
    language: str | None,
    stored: list[Answer] | None,
) -> None:
    """Write the page's answers and update (without saving) the response's timing and language."""
    questions = {q.code: q for q in page.questions.all()}
    ids = {q.pk for q in questions.values()}
    if stored is None:
        stored = list(
            Answer.objects.filter(response_id=response.pk, question_id__in=ids).order_by()
        )
    existing = {(a.question_id, a.row): a for a in stored if a.question_id in ids}
    keep: set[tuple[int, str]] = set()
    to_create: list[Answer] = []
    to_update: list[Answer] = []
    for code, given in values.items():
        question = questions.get(code)
        if question is None:
            continue
        for row, fields in _answer_fields(question, given):
            key = (question.pk, row)
            keep.add(key)
            answer = existing.get(key)
            if answer is None:
                to_create.append(Answer(response=response, question=question, row=row, **fields))
            elif any(getattr(answer, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(answer, name, value)
                to_update.append(answer)
    # A question submitted blank clears its stored answer: the respondent's own, explicit change.
    submitted = {questions[code].pk for code in values if code in questions}
    cleared = [a.pk for key, a in existing.items() if key[0] in submitted and key not in keep]
    if to_create:
        Answer.objects.bulk_create(to_create)
    if to_update:
        now = timezone.now()  # bulk_update does not apply auto_now
        for answer in to_update:
            answer.updated_at = now
        Answer.objects.bulk_update(to_update, [*_ANSWER_VALUE_FIELDS, "updated_at"])
    if cleared:
        Answer.objects.filter(pk__in=cleared).delete()
    if seconds is not None:
        spent = response.page_seconds.get(page.code, 0) + min(
            max(int(seconds), 0), MAX_PAGE_SECONDS
        )
        response.page_seconds = {**response.page_seconds, page.code: spent}
    if language and language in survey.languages:
        response.language = language


_ANSWER_VALUE_FIELDS = ["choice", "choices", "number", "boolean", "text"]


def _answer_fields(question: Question, given: PageValue) -> list[tuple[str, dict[str, Any]]]:
    """(row, field values) for each Answer row that `given` produces; nothing when blank."""
    value = given.value
    if value in (None, "", [], {}):
        return []
    base: dict[str, Any] = {
        "choice": "",
        "choices": [],
        "number": None,
        "boolean": None,
        "text": "",
    }
    kind = question_type(question.type)
    if kind.has_rows:
        return [(row, {**base, "choice": str(code)}) for row, code in value.items() if code]
    if kind.value_field == "choices":
        return [("", {**base, "choices": list(value), "text": given.other})]
    if kind.value_field == "choice":
        return [("", {**base, "choice": str(value), "text": given.other})]
    if kind.value_field == "number":
        return [("", {**base, "number": Decimal(value)})]
    if kind.value_field == "boolean":
        return [("", {**base, "boolean": bool(value)})]
    return [("", {**base, "text": str(value)})]


@transaction.atomic
def response_complete(*, response: Response) -> str:
    """Mark `response` complete and announce it on commit; returns the receipt code (shown once).

    Raises ResponseAlreadySubmitted on a second submit.
    """
    response = _lock_in_progress(response)
    receipt = _mark_complete(response)
    response.save(update_fields=[*_COMPLETE_FIELDS, "updated_at"])
    _announce_complete(response)
    return receipt


_COMPLETE_FIELDS = ["status", "submitted_at", "receipt_hash", "resume_expires_at"]


def _mark_complete(response: Response) -> str:
    """Set the fields of a completed response (not saved); returns the new receipt code."""
    receipt = tokens.new_receipt_code()
    response.status = Response.Status.COMPLETE
    response.submitted_at = _to_minute(timezone.now())
    response.receipt_hash = tokens.token_hash(receipt, purpose=tokens.RECEIPT)
    # A replayed resume link now only says that the response was submitted; it changes nothing.
    response.resume_expires_at = None
    return receipt


def _announce_complete(response: Response) -> None:
    answer_ids = list(
        Answer.objects.filter(response_id=response.pk, question__classify=True)
        .exclude(text="")
        .order_by()
        .values_list("pk", flat=True)
    )
    transaction.on_commit(
        functools.partial(
            response_completed.send,
            sender=Response,
            response_id=response.pk,
            survey_id=response.survey_id,
            answer_ids=answer_ids,
        )
    )


@transaction.atomic
def response_withdraw(*, receipt_code: str) -> None:
    """Delete the response with this receipt code, its answers and everything derived from them.

    Raises ReceiptCodeInvalid.
    """
    code = tokens.normalise_receipt_code(receipt_code)
    digest = tokens.token_hash(code, purpose=tokens.RECEIPT)
    response = Response.objects.filter(receipt_hash=digest).first()
    if response is None:
        raise ReceiptCodeInvalid()
    response.delete()  # answers, and the rows other apps derive from them, cascade


def invitations_create(*, survey: Survey, count: int) -> list[str]:
    """Create `count` single-use invitations and return their tokens (only hashes are kept)."""
    created = [tokens.new_token() for _ in range(count)]
    Invitation.objects.bulk_create(
        Invitation(survey=survey, token_hash=tokens.token_hash(token, purpose=tokens.INVITATION))
        for token in created
    )
    return created
