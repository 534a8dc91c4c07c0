"""The respondent side: survey list, consent, one page at a time, thank-you, withdrawal.

Views validate and translate domain errors into messages; services do the work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from surveys.core import ratelimit, tokens
from surveys.core.errors import (
    RateLimited,
    ResponseAlreadySubmitted,
    SurveyClosed,
    SurveyError,
)
from surveys.models import Answer, Page, Response, Survey
from surveys.respondent import languages, selectors, services
from surveys.respondent.forms import ConsentForm, PageForm, WithdrawForm

_TIMER_SALT = "surveys.page-timer"
_RECEIPT_SESSION_KEY = "exposure_receipt"
_STARTED_SESSION_KEY = "exposure_started"
# How long a second Start in the same browser continues the first one's response.
_START_REMEMBERED_SECONDS = 12 * 3600
# The hidden fields that name what a form was rendered for: the start page's rendering, and
# the survey page with the response's page version it was shown at.
_START_FIELD = "start"
_PAGE_FIELD = "page"
_VERSION_FIELD = "version"


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
    language = languages.for_survey(request, survey)
    languages.activate(request, language)
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
            token = _start(request, survey, language, form.cleaned_data["invitation"])
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
            "results_published": survey.results_published,
            "answered": (
                selectors.responses_answered(survey=survey) if survey.results_published else None
            ),
            # Kept when the form comes back with errors: it names this rendering of the page.
            "start_key": request.POST.get(_START_FIELD, "")[:64] or tokens.new_token(),
        },
        status=200 if request.method == "GET" or form.is_valid() else 400,
    )


def _start(request: HttpRequest, survey: Survey, language: str, invitation: str) -> str:
    """The resume token of the response this Start begins, or of the one it repeats."""
    started = request.session.get(_STARTED_SESSION_KEY) or {}
    remembered = _remembered_start(started.get(survey.slug), invitation)
    if remembered is not None:
        return remembered
    _response, token = services.response_start(
        survey=survey,
        language=language,
        invitation_token=invitation or None,
        resume_token=services.start_resume_token(
            survey=survey,
            form_key=request.POST.get(_START_FIELD, ""),
            # The CSRF middleware's copy of this browser's CSRF cookie (a secret of its own).
            browser_key=request.META.get("CSRF_COOKIE", ""),
        ),
    )
    request.session[_STARTED_SESSION_KEY] = {
        **started,
        survey.slug: {
            "token": token,
            "invitation": _invitation_key(invitation),
            "at": int(timezone.now().timestamp()),
        },
    }
    return token


def _invitation_key(invitation: str) -> str:
    return tokens.token_hash(invitation, purpose=tokens.INVITATION)[:16] if invitation else ""


def _remembered_start(remembered: Any, invitation: str) -> str | None:
    """The resume token of this browser's earlier Start when a new Start should continue it."""
    if not isinstance(remembered, dict):
        return None
    age = timezone.now().timestamp() - float(remembered.get("at", 0))
    # Another person's invitation on a shared computer begins their own response, and so does
    # a Start long after the last one (the next user of that computer).
    if age > _START_REMEMBERED_SECONDS:
        return None
    if invitation and _invitation_key(invitation) != remembered.get("invitation"):
        return None
    token = str(remembered.get("token", ""))
    try:
        selectors.response_by_resume_token(token=token)
    except SurveyError:  # complete, withdrawn or expired: this is a new start
        return None
    return token


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
        slug = _completed_by_this_post(request, token)
        if slug is not None:
            return redirect("surveys:thanks", slug=slug)
        return _error_page(request, error)
    survey = response.survey
    language = languages.for_response(request, response)
    languages.activate(request, language)
    if not survey.is_accepting():
        return _error_page(
            request,
            SurveyClosed(_("This survey has closed. The answers you saved are kept. Thank you.")),
            survey,
        )
    shown = _Shown.of(response)
    if request.method == "POST":
        return _post_page(request, response, token, shown, language)
    form = _page_form(None, response, shown, language, enforce_required=True)
    saved = _("Your answers are saved.") if request.GET.get("saved") else ""
    return _render_page(request, response, token, shown, form, saved_message=saved)


@dataclass(frozen=True)
class _Shown:
    """The page a response is on, with what it needs to be shown and sent."""

    pages: list[Page]
    stored: list[Answer]
    values: dict[str, Any]
    others: dict[str, str]
    visible: list[Page]
    page: Page

    @classmethod
    def of(cls, response: Response) -> _Shown:
        pages = selectors.survey_pages(survey=response.survey)
        stored = selectors.response_stored_answers(response=response)
        values, others = selectors.response_answers(response=response, stored=stored)
        visible = selectors.visible_pages(pages=pages, answers=values)
        page = _current_page(visible, response.current_page)
        return cls(pages, stored, values, others, visible, page)


def _page_form(
    data: Any, response: Response, shown: _Shown, language: str, *, enforce_required: bool
) -> PageForm:
    return PageForm(
        data,
        questions=selectors.visible_questions(page=shown.page, answers=shown.values),
        language=language,
        fallback=response.survey.default_language,
        initial_values=shown.values,
        initial_others=shown.others,
        enforce_required=enforce_required,
    )


def _post_page(
    request: HttpRequest, response: Response, token: str, shown: _Shown, language: str
) -> HttpResponse:
    action = request.POST.get("action", "next")
    if action not in ("back", "save", "next", "submit", _DISCARD, _DISCARD_CONFIRMED):
        action = "next"  # an unknown action must not skip the check of required answers
    form = _page_form(
        request.POST, response, shown, language, enforce_required=action in ("next", "submit")
    )
    try:
        # Counted per response, not per address: colleagues on one network never stop each other.
        ratelimit.check_rate(request, "page", identity=token)
    except RateLimited:
        return _rate_limited_page(request, response, token, shown, language)
    if form.is_bot():
        return _error_page(
            request, SurveyError(_("Your answers could not be accepted.")), response.survey
        )
    post = _post_hash(request)
    binding = _binding(request, response, shown.page, post)
    if binding == _STALE:
        # Sent from a page shown before (a second tab, the browser's Back): applying it to the
        # page the respondent is on now would save it over answers it never showed.
        current = _page_form(None, response, shown, language, enforce_required=True)
        notice = _(
            "That form was out of date, so it was not saved. This is the page you are on now."
        )
        return _render_page(request, response, token, shown, current, notice=notice, status=409)
    if action == _DISCARD:
        # One click must not delete everything: the respondent confirms on a page of its own.
        return _discard_confirmation(request, response, token)
    if action == _DISCARD_CONFIRMED:
        return _discard(request, response)
    if binding == _REPEAT:
        # The same form sent again (a double click): answered as the first sending was.
        if request.POST.get(_PAGE_FIELD) != str(shown.page.pk) or form.is_valid():
            return _continue_redirect(token, action)
        return _render_page(request, response, token, shown, form, status=400)
    seconds = _seconds_since(request.POST.get("timer", ""))
    if form.is_valid():
        return _save_and_continue(request, response, token, shown, form, action, seconds, post)
    # Keep what the respondent did answer correctly; the page shows what is missing.
    services.response_save_page(
        response=response,
        page=shown.page,
        values=form.values(),
        seconds=seconds,
        language=language,
        stored=shown.stored,
        post=post,
    )
    return _render_page(request, response, token, shown, form, status=400)


def _rate_limited_page(
    request: HttpRequest, response: Response, token: str, shown: _Shown, language: str
) -> HttpResponse:
    """The page again with what was just sent in it, unsaved, and the resume link."""
    kept = _page_form(request.POST, response, shown, language, enforce_required=False)
    notice = _(
        "This response has sent pages faster than we accept, so this page was not saved yet. "
        "Your answers are still on it: wait a few minutes, then send the page again."
    )
    return _render_page(
        request, response, token, shown, kept, notice=notice, show_resume=True, status=429
    )


_CURRENT, _REPEAT, _STALE = "current", "repeat", "stale"
_DISCARD = "discard"
_DISCARD_CONFIRMED = "discard-confirmed"


def _discard_confirmation(request: HttpRequest, response: Response, token: str) -> HttpResponse:
    """Ask the respondent to confirm deleting their response; nothing is changed yet."""
    return render(
        request,
        "surveys/discard.html",
        {
            "survey": response.survey,
            "token": token,
            "page_id": request.POST.get(_PAGE_FIELD, ""),
            "version": request.POST.get(_VERSION_FIELD, ""),
            "action": _DISCARD_CONFIRMED,
        },
    )


def _discard(request: HttpRequest, response: Response) -> HttpResponse:
    """Delete the response at its respondent's request and say so."""
    survey = response.survey
    services.response_discard(response=response)
    started = request.session.get(_STARTED_SESSION_KEY) or {}
    if survey.slug in started:
        request.session[_STARTED_SESSION_KEY] = {
            slug: value for slug, value in started.items() if slug != survey.slug
        }
    return render(
        request,
        "surveys/message.html",
        {
            "survey": survey,
            "title": _("Your answers have been deleted"),
            "message": _(
                "We deleted this response and all the answers you gave in it. Its link no longer "
                "works. You are welcome to start again."
            ),
        },
    )


def _binding(request: HttpRequest, response: Response, page: Page, post: str) -> str:
    """Whether a page post is for the page shown now, a repeat of the last one applied, or stale."""
    sent_page = request.POST.get(_PAGE_FIELD)
    sent_version = request.POST.get(_VERSION_FIELD)
    if sent_page is None and sent_version is None:
        return _CURRENT  # a form rendered before forms named their page: taken as before
    if sent_page == str(page.pk) and sent_version == str(response.page_version):
        return _CURRENT
    if response.page_post and post == response.page_post:
        return _REPEAT
    return _STALE


def _post_hash(request: HttpRequest) -> str:
    return services.page_post_hash(
        fields=[(name, value) for name, values in request.POST.lists() for value in values]
    )


def _completed_by_this_post(request: HttpRequest, token: str) -> str | None:
    """The survey slug when this post repeats the one that completed the response."""
    if request.method != "POST" or _PAGE_FIELD not in request.POST:
        return None
    return selectors.survey_completed_by_post(token=token, post=_post_hash(request))


def _continue_redirect(token: str, action: str) -> HttpResponse:
    if action == "save":
        return redirect(reverse("surveys:respond", args=[token]) + "?saved=1")
    return redirect("surveys:respond", token=token)


def _render_page(
    request: HttpRequest,
    response: Response,
    token: str,
    shown: _Shown,
    form: PageForm,
    *,
    saved_message: str = "",
    notice: str = "",
    show_resume: bool = False,
    status: int = 200,
) -> HttpResponse:
    survey = response.survey
    language = form.language
    index = shown.visible.index(shown.page)
    is_last = index == len(shown.visible) - 1
    return render(
        request,
        "surveys/page.html",
        {
            "survey": survey,
            "title": survey.text("title", language),
            "page": shown.page,
            "page_title": form.t(shown.page.title),
            "page_intro": form.t(shown.page.intro),
            "items": form.items(),
            "form": form,
            "number": index + 1,
            # Not "of N": N would change as skip logic opens and closes branches.
            "percent": selectors.progress_percent(
                pages=shown.pages, visible=shown.visible, page=shown.page
            ),
            "is_first": index == 0,
            "is_last": is_last,
            "timer": _timer_value(),
            "version": response.page_version,
            "resume_url": request.build_absolute_uri(reverse("surveys:respond", args=[token])),
            "resume_days": settings.EXPOSURE_RESUME_DAYS,
            "saved_message": saved_message,
            "show_resume": show_resume,
            "notice": notice,
        },
        status=status,
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
    shown: _Shown,
    form: PageForm,
    action: str,
    seconds: float | None,
    post: str,
) -> HttpResponse:
    given = form.values()
    page = shown.page
    # Skip logic may change with the answers just given: the visible pages are those of the
    # stored answers with this page's replacing them (as they will be once saved).
    answers = selectors.answers_after_page(answers=shown.values, given=given)
    positions = [p.position for p in selectors.visible_pages(pages=shown.pages, answers=answers)]
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
        language=form.language,
        stored=shown.stored,
        post=post,
    )
    if receipt is not None:
        request.session[_RECEIPT_SESSION_KEY] = {
            "slug": response.survey.slug,
            "receipt": receipt,
            "language": form.language,  # the thank-you page speaks the response's language
        }
        return redirect("surveys:thanks", slug=response.survey.slug)
    return _continue_redirect(token, action)


@require_http_methods(["GET"])
@handles_survey_errors
def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    survey = selectors.survey_for_respondent(slug=slug)
    stored = request.session.get(_RECEIPT_SESSION_KEY) or {}
    receipt = stored.get("receipt") if stored.get("slug") == slug else None
    kept = stored.get("language") if receipt is not None else None
    language = languages.for_survey(request, survey, kept=kept)
    languages.activate(request, language)
    if receipt is not None:
        # Shown once: a reload, or the next person at this browser, sees only the thanks text.
        request.session.pop(_RECEIPT_SESSION_KEY, None)
    my_answers = _answers_to_compare(survey, receipt)
    page = render(
        request,
        "surveys/thanks.html",
        {
            "survey": survey,
            "title": survey.text("title", language),
            "thank_you": survey.text("thank_you_text", language),
            "receipt": receipt,
            "results_published": survey.results_published,
            "my_answers": my_answers,
        },
    )
    if my_answers is not None:
        add_never_cache_headers(page)  # the respondent's answers: in no cache, on no disk
    return page


def _answers_to_compare(survey: Survey, receipt: str | None) -> dict[str, Any] | None:
    """The respondent's closed answers, for the page's own script to set beside everyone's.

    Only on the one showing of the receipt, and only while the results page is published: the
    answers stay in this page (the script fetches the public tables, the same for everyone,
    and sends nothing of the respondent's).
    """
    if receipt is None or not survey.results_published:
        return None
    response = selectors.response_by_receipt(receipt_code=receipt)
    if response is None or response.survey_id != survey.pk:
        return None
    return selectors.response_closed_answers(response=response)


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
                            "Your answers and everything derived from them have been deleted, "
                            "including export files still on our server. Copies that researchers "
                            "had already downloaded cannot be recalled. Thank you for letting us "
                            "know."
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
