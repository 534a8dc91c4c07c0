"""The respondent side: survey list, consent, one page at a time, thank-you, withdrawal.

Views validate and translate domain errors into messages; services do the work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from surveys.core import ratelimit
from surveys.core.errors import ResponseAlreadySubmitted, SurveyClosed, SurveyError
from surveys.models import Answer, Page, Response, Survey
from surveys.respondent import selectors, services
from surveys.respondent.forms import ConsentForm, PageForm, WithdrawForm

_TIMER_SALT = "surveys.page-timer"
_RECEIPT_SESSION_KEY = "exposure_receipt"


def _language(request: HttpRequest, survey: Survey) -> str:
    """The request's language when the survey offers it, else the survey's default."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    if language in survey.languages:
        return language
    base = language.split("-")[0]
    for offered in survey.languages:
        if offered.split("-")[0] == base:
            return offered
    return survey.default_language


def _activate(request: HttpRequest, language: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = language  # type: ignore[attr-defined]


def _error_page(
    request: HttpRequest, error: SurveyError, survey: Survey | None = None
) -> HttpResponse:
    return render(
        request,
        "surveys/message.html",
        {"survey": survey, "title": _("We could not continue"), "message": error.message},
        status=error.status,
    )


def handles_survey_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render any SurveyError as a page with its message and status."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except SurveyError as error:
            return _error_page(request, error)

    return wrapper


@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    surveys = selectors.surveys_open()
    if len(surveys) == 1:
        return redirect("surveys:landing", slug=surveys[0].slug)
    language = translation.get_language() or settings.LANGUAGE_CODE
    listed = [{"survey": s, "title": s.text("title", language)} for s in surveys]
    return render(request, "surveys/home.html", {"surveys": listed})


@require_http_methods(["GET", "POST"])
@handles_survey_errors
def landing(request: HttpRequest, slug: str) -> HttpResponse:
    survey = selectors.survey_for_respondent(slug=slug)
    language = _language(request, survey)
    _activate(request, language)
    invitation = request.GET.get("invitation", "")[:64]
    # Not `request.POST or None`: a POST with no boxes ticked must still show what is missing.
    data = request.POST if request.method == "POST" else None
    form = ConsentForm(data, initial={"invitation": invitation})
    if request.method == "POST":
        ratelimit.check_rate(request, "start")
        if form.is_bot():
            return _error_page(
                request, SurveyError(_("Your answers could not be accepted.")), survey
            )
        if form.is_valid():
            _response, token = services.response_start(
                survey=survey,
                language=language,
                invitation_token=form.cleaned_data["invitation"] or None,
            )
            return redirect("surveys:respond", token=token)
    return render(
        request,
        "surveys/landing.html",
        {
            "survey": survey,
            "title": survey.text("title", language),
            "description": survey.text("description", language),
            "consent": survey.text("consent_text", language),
            "form": form,
            "accepting": survey.is_accepting(),
            "needs_invitation": survey.invitation_only and not invitation,
            "pages": len(selectors.survey_pages(survey=survey)),
        },
        status=200 if request.method == "GET" or form.is_valid() else 400,
    )


def _timer_value() -> str:
    return signing.dumps(timezone.now().timestamp(), salt=_TIMER_SALT)


def _seconds_since(value: str) -> float | None:
    try:
        started = float(signing.loads(value, salt=_TIMER_SALT, max_age=24 * 3600))
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return timezone.now().timestamp() - started


@require_http_methods(["GET", "POST"])
@handles_survey_errors
def respond(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        # One transaction per page sent: the response is locked as it is read, so its answers
        # are read once and saved, with the move to the next page, in one commit.
        with transaction.atomic():
            return _respond(request, token, lock=True)
    return _respond(request, token, lock=False)


def _respond(request: HttpRequest, token: str, *, lock: bool) -> HttpResponse:
    try:
        response = selectors.response_by_resume_token(token=token, for_update=lock)
    except ResponseAlreadySubmitted as error:
        return _error_page(request, error)
    survey = response.survey
    language = _language(request, survey)
    _activate(request, language)
    if not survey.is_accepting():
        return _error_page(
            request,
            SurveyClosed(_("This survey has closed. The answers you saved are kept. Thank you.")),
            survey,
        )
    pages = selectors.survey_pages(survey=survey)
    stored = selectors.response_stored_answers(response=response)
    values, others = selectors.response_answers(response=response, stored=stored)
    visible = selectors.visible_pages(pages=pages, answers=values)
    page = _current_page(visible, response.current_page)
    index = visible.index(page)
    questions = selectors.visible_questions(page=page, answers=values)
    action = request.POST.get("action", "next") if request.method == "POST" else None
    if action not in (None, "back", "save", "next", "submit"):
        action = "next"  # an unknown action must not skip the check of required answers
    form = PageForm(
        request.POST if request.method == "POST" else None,
        questions=questions,
        language=language,
        fallback=survey.default_language,
        initial_values=values,
        initial_others=others,
        enforce_required=action in (None, "next", "submit"),
    )
    saved_message = ""
    if request.method == "POST":
        ratelimit.check_rate(request, "page")
        if form.is_bot():
            return _error_page(
                request, SurveyError(_("Your answers could not be accepted.")), survey
            )
        seconds = _seconds_since(request.POST.get("timer", ""))
        if form.is_valid():
            return _save_and_continue(
                request,
                response,
                token,
                pages,
                page,
                values,
                stored,
                form,
                action,
                seconds,
                language,
            )
        # Keep what the respondent did answer correctly; the page shows what is missing.
        services.response_save_page(
            response=response,
            page=page,
            values=form.values(),
            seconds=seconds,
            language=language,
            stored=stored,
        )
    elif request.GET.get("saved"):
        saved_message = _("Your answers are saved.")
    return render(
        request,
        "surveys/page.html",
        {
            "survey": survey,
            "title": survey.text("title", language),
            "page": page,
            "page_title": form.t(page.title),
            "page_intro": form.t(page.intro),
            "items": form.items(),
            "form": form,
            "number": index + 1,
            "total": len(visible),
            "percent": int(100 * index / max(len(visible), 1)),
            "is_first": index == 0,
            "is_last": index == len(visible) - 1,
            "timer": _timer_value(),
            "resume_url": request.build_absolute_uri(reverse("surveys:respond", args=[token])),
            "resume_days": settings.EXPOSURE_RESUME_DAYS,
            "saved_message": saved_message,
        },
        status=400 if request.method == "POST" else 200,
    )


def _current_page(visible: list[Page], position: int) -> Page:
    """The page at `position`, or the next visible one when skip logic now hides it."""
    for page in visible:
        if page.position >= position:
            return page
    return visible[-1]


def _save_and_continue(
    request: HttpRequest,
    response: Response,
    token: str,
    pages: list[Page],
    page: Page,
    values: dict[str, Any],
    stored: list[Answer],
    form: PageForm,
    action: str | None,
    seconds: float | None,
    language: str,
) -> HttpResponse:
    given = form.values()
    # Skip logic may change with the answers just given: the visible pages are those of the
    # stored answers with this page's replacing them (as they will be once saved).
    answers = selectors.answers_after_page(answers=values, given=given)
    positions = [p.position for p in selectors.visible_pages(pages=pages, answers=answers)]
    target: int | None
    if action == "back":
        earlier = [p for p in positions if p < page.position]
        target = earlier[-1] if earlier else positions[0]
    elif action == "save":
        target = page.position
    else:
        later = [p for p in positions if p > page.position]
        target = later[0] if later else None  # None: the last page, so the response is complete
    receipt = services.response_save_and_continue(
        response=response,
        page=page,
        values=given,
        next_position=target,
        seconds=seconds,
        language=language,
        stored=stored,
    )
    if receipt is not None:
        request.session[_RECEIPT_SESSION_KEY] = {"slug": response.survey.slug, "receipt": receipt}
        return redirect("surveys:thanks", slug=response.survey.slug)
    if action == "save":
        return redirect(reverse("surveys:respond", args=[token]) + "?saved=1")
    return redirect("surveys:respond", token=token)


@require_http_methods(["GET"])
@handles_survey_errors
def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    survey = selectors.survey_for_respondent(slug=slug)
    language = _language(request, survey)
    _activate(request, language)
    stored = request.session.get(_RECEIPT_SESSION_KEY) or {}
    receipt = stored.get("receipt") if stored.get("slug") == slug else None
    return render(
        request,
        "surveys/thanks.html",
        {
            "survey": survey,
            "title": survey.text("title", language),
            "thank_you": survey.text("thank_you_text", language),
            "receipt": receipt,
        },
    )


@require_http_methods(["GET", "POST"])
@handles_survey_errors
def withdraw(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = WithdrawForm(data, initial={"receipt": request.GET.get("code", "")})
    if request.method == "POST":
        ratelimit.check_rate(request, "withdraw")
        if form.is_bot():
            return _error_page(request, SurveyError(_("Your request could not be accepted.")))
        if form.is_valid():
            try:
                services.response_withdraw(receipt_code=form.cleaned_data["receipt"])
            except SurveyError as error:
                form.add_error("receipt", error.message)
            else:
                request.session.pop(_RECEIPT_SESSION_KEY, None)
                return render(
                    request,
                    "surveys/message.html",
                    {
                        "title": _("Your response has been withdrawn"),
                        "message": _(
                            "Your answers and everything derived from them have been deleted. "
                            "Thank you for letting us know."
                        ),
                    },
                )
    return render(
        request,
        "surveys/withdraw.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid security token (expired page, blocked cookies)."""
    return render(
        request,
        "surveys/message.html",
        {
            "title": _("Please try that again"),
            "message": _(
                "This page was open for too long or your browser blocked a cookie, so we could not "
                "accept the form. Answers you saved before are kept: go back, reload the page and "
                "send it again."
            ),
        },
        status=403,
    )
