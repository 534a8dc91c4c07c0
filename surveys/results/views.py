"""The public results page of a survey, its tables as CSV and as JSON (thin views).

Anyone may read them while the survey's owners publish the page (`Survey.results_published`);
otherwise each answers 404, as for a slug that does not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from surveys.core import ratelimit
from surveys.core.errors import RateLimited
from surveys.models import Survey
from surveys.respondent import languages
from surveys.respondent.selectors import responses_answered
from surveys.results.downloads import table_csv
from surveys.results.presentation import table_view
from surveys.results.selectors import (
    results_aggregates,
    results_cached,
    results_survey,
    results_table,
    results_table_chosen,
    results_tables,
)


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Count each request per address (EXPOSURE_RATE_LIMIT): each one runs the statistics' queries.

    Past the limit, the message page with status 429, as on the respondent pages.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            ratelimit.check_rate(request, "results")
        except RateLimited as error:
            asked = request.GET.get("lang", "")
            if asked in {code for code, _name in settings.LANGUAGES}:
                languages.activate(request, asked)
            return render(
                request,
                "surveys/message.html",
                {"title": _("Please wait a moment"), "message": error.message},
                status=error.status,
            )
        return view(request, *args, **kwargs)

    return wrapper


def _published(slug: str) -> Survey:
    survey = results_survey(slug=slug)
    if survey is None:
        raise Http404("No published results.")
    return survey


def _language(request: HttpRequest, survey: Survey) -> str:
    """`?lang=` when the survey speaks it (a link that keeps its language), else the site's."""
    asked = request.GET.get("lang", "")
    language = asked if asked in survey.languages else languages.for_survey(request, survey)
    languages.activate(request, language)
    return language


@require_http_methods(["GET"])
@rate_limited
def results_page(request: HttpRequest, slug: str) -> HttpResponse:
    survey = _published(slug)
    language = _language(request, survey)
    # The whole page, frame included, is the same for every visitor of a language (its language
    # switcher is links, with no form token): made once per data version and sent as it is kept.
    page = results_cached(
        survey=survey, lang=language, part="document", compute=lambda: _page(survey, language)
    )
    response = HttpResponse(page)
    if request.GET.get("lang", "") not in survey.languages:
        # Without its `?lang=`, the language came from the switcher's cookie (or the browser's
        # Accept-Language, which LocaleMiddleware adds to Vary).
        patch_vary_headers(response, ("Cookie",))
    return response


def _page(survey: Survey, language: str) -> bytes:
    return render_to_string(
        "surveys/results.html",
        {
            "title": survey.text("title", language),
            "body": _page_body(survey, language),
            "language": language,
            "switch_languages": survey.languages,
        },
    ).encode()


def _page_body(survey: Survey, language: str) -> str:
    tables = [
        {"table": table, "view": table_view(table.statistics)}
        for table in results_tables(survey=survey, lang=language)
    ]
    return render_to_string(
        "surveys/includes/results_body.html",
        {
            "survey": survey,
            "title": survey.text("title", language),
            "language": language,
            "tables": tables,
            "answered": responses_answered(survey=survey),
            "k": survey.min_cell_size,
            "other_languages": [code for code in survey.languages if code != language],
        },
    )


@require_http_methods(["GET"])
@rate_limited
def results_csv(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    survey = _published(slug)
    language = _language(request, survey)
    if not results_table_chosen(survey=survey, key=key):
        raise Http404("No such table.")
    body = results_cached(
        survey=survey, lang=language, part=f"csv:{key}", compute=lambda: _csv(survey, key, language)
    )
    if body is None:  # a question deleted since the table was chosen
        raise Http404("No such table.")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{survey.slug}-{key}.csv"'
    return response


def _csv(survey: Survey, key: str, language: str) -> str | None:
    table = results_table(survey=survey, key=key, lang=language)
    if table is None:
        return None
    return table_csv(table.statistics, total=_("Total"), missing=_("Did not answer"))


@require_http_methods(["GET"])
@rate_limited
def results_data(request: HttpRequest, slug: str) -> HttpResponse:
    survey = _published(slug)
    language = _language(request, survey)
    body = results_cached(
        survey=survey,
        lang=language,
        part="json",
        compute=lambda: JsonResponse(results_aggregates(survey=survey, lang=language)).content,
    )
    return HttpResponse(body, content_type="application/json")
