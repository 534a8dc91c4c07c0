"""Services that change survey data: start, save, complete and withdraw responses; invitations."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from surveys.analytics.services import (
    analytics_response_remove,
    analytics_response_store,
    statistics_version_bump,
)
from surveys.core import tokens
from surveys.core.errors import (
    InvitationRequired,
    InvitationUsed,
    ReceiptCodeInvalid,
    ResponseAlreadySubmitted,
    SurveyClosed,
)
from surveys.definitions.question_types import question_type
from surveys.models import (
    Answer,
    Invitation,
    Page,
    Question,
    Response,
    ResponseTombstone,
    Survey,
)
from surveys.respondent import selectors
from surveys.signals import response_completed, response_withdrawn

MAX_PAGE_SECONDS = 60 * 60  # longer than an hour on one page is a break, not time spent
_PAGE_POST = "page-post"  # the purpose of the keyed hash of a page post's body
_START = "start"  # the purpose of the resume token derived from one rendering of the start page


@dataclass(frozen=True)
class PageValue:
    """What a respondent gave for one question: a typed value and any 'other' text."""

    value: Any
    other: str = ""


def _to_minute(moment: datetime) -> datetime:
    # Research needs minutes, not microseconds; coarser timestamps make responses harder to link.
    return moment.replace(second=0, microsecond=0)


def start_resume_token(*, survey: Survey, form_key: str, browser_key: str) -> str | None:
    """The resume token a Start sent from one rendering of the start page gives its response.

    The same rendered form sent twice from the same browser (a double click) yields the same
    token, so the second sending finds the first one's response. None without a usable key.
    """
    if len(form_key) < 16 or len(form_key) > 64:
        return None
    # The browser's own secret (its CSRF cookie) is part of it: a copy of the page's HTML alone
    # must not lead anyone else to the respondent's answers.
    message = f"{survey.pk}:{form_key}:{browser_key}".encode()
    key = f"{settings.SECRET_KEY}:{_START}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode()


@transaction.atomic
def response_start(
    *,
    survey: Survey,
    language: str,
    invitation_token: str | None = None,
    resume_token: str | None = None,
) -> tuple[Response, str]:
    """Create an in-progress response after consent; returns it with its private resume token.

    With `resume_token` (start_resume_token) an in-progress response already holding it is
    returned instead, its invitation not used again. Raises SurveyClosed, InvitationRequired
    or InvitationUsed.
    """
    if not survey.is_accepting():
        raise SurveyClosed()
    # Locked first: a simultaneous Start with the same invitation waits here for this one.
    invitation = _invitation_to_use(survey, invitation_token)
    if resume_token is not None:
        started = _in_progress_with(resume_token)
        if started is not None:
            return started, resume_token
        if Response.objects.filter(resume_hash=_resume_hash(resume_token)).exists():
            resume_token = None  # its response is complete: this is a new start
    if invitation is not None:
        if invitation.used_at is not None:
            raise InvitationUsed()
        # Marked used without linking it to the response: invitations must not identify answers.
        invitation.used_at = _to_minute(timezone.now())
        invitation.save(update_fields=["used_at"])
    token = resume_token or tokens.new_token()
    try:
        with transaction.atomic():
            response = _create_response(survey, language, token)
    except IntegrityError:
        # A simultaneous Start of the same rendered form created it first: continue that one.
        started = _in_progress_with(token)
        if started is None:
            raise
        return started, token
    return response, token


def _invitation_to_use(survey: Survey, invitation_token: str | None) -> Invitation | None:
    """The survey's invitation for `invitation_token`, locked; None when none is needed."""
    if not survey.invitation_only:
        return None
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
    return invitation


def _resume_hash(token: str) -> str:
    return tokens.token_hash(token, purpose=tokens.RESUME)


def _in_progress_with(token: str) -> Response | None:
    unexpired = Q(resume_expires_at__isnull=True) | Q(resume_expires_at__gt=timezone.now())
    return (
        Response.objects.filter(unexpired, resume_hash=_resume_hash(token))
        .filter(status=Response.Status.IN_PROGRESS)
        .first()
    )


def _create_response(survey: Survey, language: str, token: str) -> Response:
    now = timezone.now()
    return Response.objects.create(
        public_id=tokens.new_public_id(),
        survey=survey,
        language=language if language in survey.languages else survey.default_language,
        started_at=_to_minute(now),
        current_page=selectors.first_page_position(survey=survey),
        resume_hash=_resume_hash(token),
        resume_expires_at=now + timedelta(days=settings.EXPOSURE_RESUME_DAYS),
    )


def page_post_hash(*, fields: Iterable[tuple[str, str]]) -> str:
    """Keyed hash of a page post's body: equal for a repeat of the same rendered form as sent."""
    # The body holds the per-render timer and CSRF token, so two renderings never hash alike.
    body = json.dumps(sorted(fields), ensure_ascii=False)
    return tokens.token_hash(body, purpose=_PAGE_POST)


def response_save_page(
    *,
    response: Response,
    page: Page,
    values: Mapping[str, PageValue],
    seconds: float | None = None,
    language: str | None = None,
    stored: list[Answer] | None = None,
    post: str = "",
) -> Response:
    """Store the answers given on `page` (only its questions; cleared answers are removed).

    `stored`: the response's answers, read in the caller's transaction after locking the
    response (response_by_resume_token with for_update); they are then not read again.
    `post`: the page_post_hash of the post applied, recorded so that a repeat is recognised.
    Raises ResponseAlreadySubmitted when the response is complete.
    """
    _check_locked_by_caller(stored)
    with transaction.atomic(savepoint=stored is None):
        locked = response if stored is not None else _lock_in_progress(response)
        _save_answers(locked, response.survey, page, values, seconds, language, stored)
        _record_post(locked, post)
        locked.save(update_fields=_PAGE_FIELDS)
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
    post: str = "",
) -> str | None:
    """Store the answers given on `page`, then show the page at `next_position`, in one commit.

    With `next_position` None the response is complete instead: returns its receipt code (shown
    once) and announces it on commit. `stored` and `post` as for response_save_page. Raises
    ResponseAlreadySubmitted when the response was complete.
    """
    _check_locked_by_caller(stored)
    with transaction.atomic(savepoint=stored is None):
        locked = response if stored is not None else _lock_in_progress(response)
        _save_answers(locked, response.survey, page, values, seconds, language, stored)
        _record_post(locked, post)
        if next_position is not None:
            locked.current_page = next_position
            locked.save(update_fields=[*_PAGE_FIELDS, "current_page"])
            return None
        receipt = _mark_complete(locked)
        locked.save(update_fields=[*_PAGE_FIELDS, *_COMPLETE_FIELDS])
        analytics_response_store(response=locked)
        _announce_complete(locked)
    return receipt


_PAGE_FIELDS = ["page_seconds", "language", "page_version", "page_post", "updated_at"]


def _record_post(response: Response, post: str) -> None:
    # Every applied post makes the forms rendered before it stale, whatever it changed.
    response.page_version += 1
    response.page_post = post


def _check_locked_by_caller(stored: list[Answer] | None) -> None:
    # With `stored` the caller's transaction holds the response's lock and undoes everything on
    # any error, so the services above open no savepoint of their own (two round trips a page).
    if stored is not None and not transaction.get_connection().in_atomic_block:
        raise ValueError("`stored` answers need the transaction that locked the response.")


def _lock_in_progress(response: Response) -> Response:
    # all_objects: the builder's preview saves test responses through these services too.
    locked = Response.all_objects.select_for_update().get(pk=response.pk)
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
    plan = _plan_answers(response=response, questions=questions, values=values, existing=existing)
    if plan.to_create:
        Answer.objects.bulk_create(plan.to_create)
    if plan.to_update:
        now = timezone.now()  # bulk_update does not apply auto_now
        for answer in plan.to_update:
            answer.updated_at = now
        Answer.objects.bulk_update(plan.to_update, [*_ANSWER_VALUE_FIELDS, "updated_at"])
    if plan.cleared:
        Answer.objects.filter(pk__in=plan.cleared).delete()
    _note_page_visit(
        response=response, survey=survey, page=page, seconds=seconds, language=language
    )


@dataclass
class _AnswerPlan:
    """The writes that bring a page's stored answers in line with what was submitted."""

    to_create: list[Answer] = field(default_factory=list)
    to_update: list[Answer] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)


def _plan_answers(
    *,
    response: Response,
    questions: Mapping[str, Question],
    values: Mapping[str, PageValue],
    existing: Mapping[tuple[int, str], Answer],
) -> _AnswerPlan:
    plan = _AnswerPlan()
    keep: set[tuple[int, str]] = set()
    for code, given in values.items():
        question = questions.get(code)
        if question is None:
            continue
        for row, fields in _answer_fields(question, given):
            key = (question.pk, row)
            keep.add(key)
            answer = existing.get(key)
            if answer is None:
                plan.to_create.append(
                    Answer(response=response, question=question, row=row, **fields)
                )
            elif any(getattr(answer, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(answer, name, value)
                plan.to_update.append(answer)
    # A question submitted blank clears its stored answer: the respondent's own, explicit change.
    submitted = {questions[code].pk for code in values if code in questions}
    plan.cleared = [a.pk for key, a in existing.items() if key[0] in submitted and key not in keep]
    return plan


def _note_page_visit(
    *, response: Response, survey: Survey, page: Page, seconds: float | None, language: str | None
) -> None:
    """Add the page's time to the response and take up its language (the caller saves)."""
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
    if kind.has_items:  # each line its own row "1".."n", so that each is coded on its own
        return [(str(number), {**base, "text": str(line)}) for number, line in enumerate(value, 1)]
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
    analytics_response_store(response=response)
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
    if response.is_test:
        return  # a researcher's test: nothing to classify, export or count
    answer_ids = list(
        # Classify questions' texts and the "other, please specify" texts of coded questions:
        # the classifier decides which of them its codebooks code.
        Answer.objects.filter(response_id=response.pk)
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
    # Only the public id survives, so that API clients that synced the response delete it too.
    # A simultaneous second withdrawal finds the first one's tombstone and deletes nothing more.
    ResponseTombstone.objects.bulk_create(
        [ResponseTombstone(survey_id=response.survey_id, public_id=response.public_id)],
        ignore_conflicts=True,
    )
    survey_id = response.survey_id
    removed = analytics_response_remove(survey_id=survey_id, response_id=response.pk)
    response_id = response.pk
    response.delete()  # answers, and the rows other apps derive from them, cascade
    statistics_version_bump(  # last: its row is held until commit
        survey_ids=[survey_id], store_changes=[(survey_id, response_id)] if removed else ()
    )
    # Files already written from the answers (exports) are for their owners to delete.
    transaction.on_commit(
        functools.partial(response_withdrawn.send, sender=Response, survey_id=survey_id)
    )


@transaction.atomic
def response_discard(*, response: Response) -> None:
    """Delete the unsubmitted `response` and its answers at its respondent's request.

    Raises ResponseAlreadySubmitted when it is complete (withdrawal by receipt code is the way).
    """
    locked = _lock_in_progress(response)
    # As for a withdrawal: API clients that synced the response learn to delete it too.
    ResponseTombstone.objects.bulk_create(
        [ResponseTombstone(survey_id=locked.survey_id, public_id=locked.public_id)],
        ignore_conflicts=True,
    )
    locked.delete()


@transaction.atomic
def responses_purge_unsubmitted() -> int:
    """Delete unsubmitted responses whose resume link has expired; returns how many.

    Does nothing when settings.EXPOSURE_PURGE_UNSUBMITTED is off. Nobody can open such a
    response again, so keeping its answers would only keep data nobody agreed to hand in.
    """
    if not settings.EXPOSURE_PURGE_UNSUBMITTED:
        return 0
    expired = Response.objects.filter(
        status=Response.Status.IN_PROGRESS, resume_expires_at__lte=timezone.now()
    )
    rows = list(
        expired.select_for_update().order_by("pk").values_list("pk", "survey_id", "public_id")
    )
    if not rows:
        return 0
    ResponseTombstone.objects.bulk_create(
        [
            ResponseTombstone(survey_id=survey_id, public_id=public_id)
            for _pk, survey_id, public_id in rows
        ],
        ignore_conflicts=True,
    )
    Response.objects.filter(pk__in=[pk for pk, _survey_id, _public_id in rows]).delete()
    return len(rows)


@transaction.atomic
def responses_touch(*, ids: Iterable[int]) -> int:
    """Mark responses changed (updated_at now) after data derived from them changed; returns count.

    Other apps call it in the transaction that changed the data (a classification finished, a
    coder's label), so that API clients syncing with updated_since fetch the response again.
    Rows are locked in id order: two batches touching the same responses cannot deadlock.
    """
    locked = list(
        Response.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not locked:
        return 0
    return Response.objects.filter(pk__in=locked).update(updated_at=timezone.now())


def invitations_create(*, survey: Survey, count: int) -> list[str]:
    """Create `count` single-use invitations and return their tokens (only hashes are kept)."""
    created = [tokens.new_token() for _ in range(count)]
    Invitation.objects.bulk_create(
        Invitation(survey=survey, token_hash=tokens.token_hash(token, purpose=tokens.INVITATION))
        for token in created
    )
    return created
