"""The respondent preview, and test mode: the real skip logic and validation, test responses.

Owners and editors answer the preview as a test response (surveys.respondent.testing): answers
are saved and checked by the respondent's own services, pages and questions appear as skip
logic decides, and the finished response stays out of every count and export. Viewers see each
page as respondents would, and nothing they enter is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation

from surveys.admin.widgets import LANGUAGE_NAMES
from surveys.core import access
from surveys.core.i18n import translate
from surveys.definitions.selectors import condition_words
from surveys.definitions.wording import describe
from surveys.models import Page, Response, Survey
from surveys.respondent import selectors, testing
from surveys.respondent.forms import PageForm

_SESSION = "exposure-test-responses"  # {survey id: id of the test response being answered}


def preview(request: HttpRequest, *, survey: Survey) -> HttpResponse:
    """Each page as respondents see it, in any status (see the module docstring)."""
    tester = access.has_permission(user=request.user, survey=survey, permission="edit")
    pages = selectors.survey_pages(survey=survey)
    language = request.GET.get("lang", "")
    if language not in survey.languages:
        language = survey.default_language
    if tester and request.method == "POST" and request.POST.get("action") == "restart":
        _forget(request, survey)
        messages.info(request, "Started a new test response.")
        return redirect(_url(survey, 1, language))
    response = _current(request, survey) if tester else None
    answers, others = selectors.response_answers(response=response) if response else ({}, {})
    raw = request.GET.get("page", "1")
    number = min(max(int(raw) if raw.isdigit() else 1, 1), max(len(pages), 1))
    finished = raw == "end"
    visit = _Visit(request, survey, pages, language, tester, response, answers, others)
    banner = visit.banner(raw, None if finished else number)
    with translation.override(language):
        if finished or not pages:
            return _end(request, survey, language, banner, empty=not pages)
        return visit.page(number, banner)


def _url(survey: Survey, page: int | str, language: str) -> str:
    return reverse("admin:surveys_preview", args=[survey.pk]) + f"?page={page}&lang={language}"


def _current(request: HttpRequest, survey: Survey) -> Response | None:
    pk = request.session.get(_SESSION, {}).get(str(survey.pk))
    return testing.response_test_in_progress(survey=survey, pk=pk)


def _remember(request: HttpRequest, survey: Survey, response: Response) -> None:
    request.session[_SESSION] = {**request.session.get(_SESSION, {}), str(survey.pk): response.pk}


def _forget(request: HttpRequest, survey: Survey) -> None:
    remembered = dict(request.session.get(_SESSION, {}))
    remembered.pop(str(survey.pk), None)
    request.session[_SESSION] = remembered


def _end(
    request: HttpRequest, survey: Survey, language: str, banner: dict[str, Any], *, empty: bool
) -> HttpResponse:
    return render(
        request,
        "surveys/admin/preview_end.html",
        {
            "survey": survey,
            "title": translate(survey.title, language, survey.default_language),
            "thank_you": translate(survey.thank_you_text, language, survey.default_language),
            "receipt": None,
            "banner": banner,
            "empty": empty,
        },
    )


class _Visit:
    """One request of the preview: the survey, the tester's answers so far, the page asked for."""

    def __init__(
        self,
        request: HttpRequest,
        survey: Survey,
        pages: list[Page],
        language: str,
        tester: bool,
        response: Response | None,
        answers: dict[str, Any],
        others: dict[str, str],
    ) -> None:
        self.request, self.survey, self.pages, self.language = request, survey, pages, language
        self.tester, self.response, self.answers, self.others = tester, response, answers, others
        self.visible = {p.pk for p in selectors.visible_pages(pages=pages, answers=answers)}
        self.words = condition_words(survey=survey)

    def describe(self, condition: Any) -> str:
        return describe(condition, self.words, self.language, fallback=self.survey.default_language)

    def banner(self, raw: str, current: int | None) -> dict[str, Any]:
        """The researcher's bar above the page: test mode, languages, pages, skip logic."""
        survey, language = self.survey, self.language
        return {
            "survey": survey,
            "tester": self.tester,
            "response": self.response,
            "tests": testing.responses_test_count(survey=survey) if self.tester else 0,
            "restart_url": _url(survey, 1, language),
            "language": language,
            "languages": [
                {"code": c, "name": LANGUAGE_NAMES.get(c, c), "url": _url(survey, raw, c)}
                for c in survey.languages
            ],
            "pages": [
                {
                    "number": i,
                    "code": p.code,
                    "url": _url(survey, i, language),
                    "skipped": self.tester and p.pk not in self.visible,
                }
                for i, p in enumerate(self.pages, start=1)
            ],
            "current": current,
            "end_url": _url(survey, "end", language),
            "change_url": reverse("admin:surveys_survey_change", args=[survey.pk]),
        }

    def page(self, number: int, banner: dict[str, Any]) -> HttpResponse:
        """One previewed page: a POST is checked as the respondent's would be."""
        request, page = self.request, self.pages[number - 1]
        questions = (
            selectors.visible_questions(page=page, answers=self.answers)
            if self.tester
            else list(page.questions.all())
        )
        action = request.POST.get("action", "next") if request.method == "POST" else None
        form = PageForm(
            request.POST if request.method == "POST" else None,
            questions=questions,
            language=self.language,
            fallback=self.survey.default_language,
            initial_values=self.answers,
            initial_others=self.others,
            enforce_required=action in (None, "next", "submit"),
        )
        saved_message = ""
        if request.method == "POST":
            moved = self._post(page, number, form, action)
            if moved is not None:
                return moved
            if not form.errors and action == "save":
                saved_message = (
                    "Saved in the test response."
                    if self.tester
                    else "Preview: nothing is saved, and no link is sent."
                )
        banner["page_condition"] = self.describe(page.condition) if page.condition else ""
        banner["page_skipped"] = self.tester and page.pk not in self.visible
        banner["question_conditions"] = [
            (q.code, self.describe(q.condition)) for q in page.questions.all() if q.condition
        ]
        return self._render(page, number, form, banner, saved_message)

    def _post(self, page: Page, number: int, form: PageForm, action: str | None) -> Any:
        valid = form.is_valid()  # shows the respondent's error messages
        if action == "back":
            back = self._previous(page, number)
            return redirect(_url(self.survey, back, self.language))
        if not valid:
            return None
        if not self.tester:
            if action in ("next", "submit"):
                target = "end" if number >= len(self.pages) else str(number + 1)
                return redirect(_url(self.survey, target, self.language))
            return None
        response = self.response or testing.response_test_start(
            survey=self.survey, language=self.language
        )
        _remember(self.request, self.survey, response)
        following = testing.response_test_save(
            response=response,
            pages=self.pages,
            page=page,
            values=form.values(),
            language=self.language,
            finish=action in ("next", "submit"),
        )
        if action not in ("next", "submit"):
            return None
        if following is None:
            _forget(self.request, self.survey)
            messages.success(
                self.request,
                f"Test response {response.public_id} is complete. Test responses stay out of the "
                "dashboard, statistics, API and exports; delete them on the survey's page.",
            )
            return redirect(_url(self.survey, "end", self.language))
        return redirect(_url(self.survey, self.pages.index(following) + 1, self.language))

    def _previous(self, page: Page, number: int) -> int:
        if not self.tester:
            return max(number - 1, 1)
        before = testing.previous_visible_page(pages=self.pages, page=page, answers=self.answers)
        return self.pages.index(before) + 1 if before else 1

    def _render(
        self, page: Page, number: int, form: PageForm, banner: dict[str, Any], saved: str
    ) -> HttpResponse:
        total = len(self.pages)
        context = {
            "survey": self.survey,
            "title": translate(self.survey.title, self.language, self.survey.default_language),
            "page": page,
            "page_title": form.t(page.title),
            "page_intro": form.t(page.intro),
            "items": form.items(),
            "form": form,
            "number": number,
            "total": total,
            "percent": int(100 * (number - 1) / max(total, 1)),
            "is_first": number == 1,
            "is_last": number == total,
            "timer": "",
            "resume_url": "",
            "resume_days": 0,
            "saved_message": saved,
            "banner": banner,
        }
        status = 400 if self.request.method == "POST" and form.errors else 200
        return render(self.request, "surveys/admin/preview.html", context, status=status)
