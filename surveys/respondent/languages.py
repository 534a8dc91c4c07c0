"""Which language a respondent page speaks: the request's, the survey's, or the response's."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from surveys.models import Response, Survey


def for_survey(request: HttpRequest, survey: Survey, *, kept: str | None = None) -> str:
    """The language of a page of `survey`.

    `kept` (a response's language) wins unless this browser chose one with the language switcher
    (the language cookie): a resume link opened on another device, with another
    Accept-Language, keeps the response's language. Otherwise the request's language when the
    survey offers it, else the survey's default.
    """
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if kept and kept in survey.languages and not chosen:
        return kept
    language = translation.get_language() or settings.LANGUAGE_CODE
    if language in survey.languages:
        return language
    base = language.split("-")[0]
    for offered in survey.languages:
        if offered.split("-")[0] == base:
            return offered
    return survey.default_language


def for_response(request: HttpRequest, response: Response) -> str:
    """The language of a page of `response`: its own unless the switcher chose another."""
    return for_survey(request, response.survey, kept=response.language)


def activate(request: HttpRequest, language: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = language
