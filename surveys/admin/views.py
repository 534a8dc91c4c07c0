"""Admin pages of one survey: dashboard, respondent preview, roles, duplicate, open and close.

The views check the user's role on the survey and translate domain errors into messages; the
state changes are the plain functions at the top (each audited), the figures come from
surveys.statistics.dashboard.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation

from surveys.admin.charts import timeline_chart
from surveys.admin.widgets import LANGUAGE_NAMES
from surveys.core import access
from surveys.core.i18n import translate
from surveys.definitions.services import (
    StatusError,
    survey_duplicate,
    survey_set_status,
)
from surveys.definitions.transfer import (
    SUPPORTED_LANGUAGES,
    DefinitionError,
)
from surveys.exports import services as export_services
from surveys.models import ExportJob, Page, Survey, SurveyRole
from surveys.respondent import selectors
from surveys.respondent.forms import PageForm
from surveys.statistics.dashboard import survey_dashboard

Role = SurveyRole.Role


# --- helpers of the views -------------------------------------------------------------------------


def _survey(request: HttpRequest, pk: int, permission: str) -> Survey:
    survey = get_object_or_404(Survey, pk=pk)
    if access.role_of(user=request.user, survey=survey) is None:
        raise PermissionDenied("You have no role on this survey.")
    if not access.has_permission(user=request.user, survey=survey, permission=permission):
        raise PermissionDenied("Your role on this survey does not allow this.")
    return survey


def _context(request: HttpRequest, model_admin: Any, survey: Survey, title: str) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "survey": survey,
        "survey_title": translate(survey.title, "en", survey.default_language),
        "title": title,
        "change_url": reverse("admin:surveys_survey_change", args=[survey.pk]),
    }


def _admin_language(survey: Survey) -> str:
    current = translation.get_language() or "en"
    return current if current in SUPPORTED_LANGUAGES else survey.default_language


def survey_tools(request: HttpRequest, survey: Survey | None) -> dict[str, Any]:
    """The buttons of a survey's change page, as the user's role allows them."""
    if survey is None:
        return {}

    def can(permission: str) -> bool:
        return access.has_permission(user=request.user, survey=survey, permission=permission)

    tools: list[dict[str, Any]] = []
    if can("view"):
        tools += [
            {"label": "Dashboard", "url": reverse("admin:surveys_dashboard", args=[survey.pk])},
            {"label": "Preview", "url": reverse("admin:surveys_preview", args=[survey.pk])},
            {
                "label": "Responses",
                "url": reverse("admin:surveys_response_changelist")
                + f"?survey__id__exact={survey.pk}",
            },
        ]
    if can("export"):
        tools.append({"label": "Export", "url": reverse("admin:surveys_export", args=[survey.pk])})
    if can("manage_roles"):
        tools += [
            {"label": "Roles", "url": reverse("admin:surveys_roles", args=[survey.pk])},
            {
                "label": "Audit log",
                "url": reverse("admin:surveys_auditentry_changelist")
                + f"?survey__id__exact={survey.pk}",
            },
        ]
    if can("edit"):
        status_url = reverse("admin:surveys_status", args=[survey.pk])
        if survey.status == Survey.Status.OPEN:
            tools.append({"label": "Close", "url": status_url, "post": "close"})
        else:
            tools.append({"label": "Open", "url": status_url, "post": "open"})
        tools.append(
            {
                "label": "Duplicate",
                "url": reverse("admin:surveys_duplicate", args=[survey.pk]),
                "post": "duplicate",
            }
        )
    return {"survey_tools": tools}


# --- dashboard ------------------------------------------------------------------------------------


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def dashboard(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    survey = _survey(request, pk, "view")
    data = survey_dashboard(
        survey=survey,
        language=_admin_language(survey),
        risk=request.GET.get("risk"),
        concerns=request.GET.get("concerns"),
        exact=access.reads_raw_answers(user=request.user, survey=survey),
    )
    context = {
        **_context(request, model_admin, survey, f"Dashboard: {survey.slug}"),
        "data": data,
        "chart": timeline_chart(data.timeline),
        "median_time": _minutes(data.completion.median_seconds),
        "selected_risk": data.risk.variable if data.risk else "",
        "selected_concerns": data.concerns.group if data.concerns else "",
    }
    return TemplateResponse(request, "surveys/admin/dashboard.html", context)


# --- preview as a respondent ----------------------------------------------------------------------


def preview(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    """Each page as respondents see it, in any status; answers are checked but never stored."""
    survey = _survey(request, pk, "view")
    pages = selectors.survey_pages(survey=survey)
    language = request.GET.get("lang", "")
    if language not in survey.languages:
        language = survey.default_language
    raw = request.GET.get("page", "1")
    number = int(raw) if raw.isdigit() else 1
    finished = raw == "end"
    number = min(max(number, 1), max(len(pages), 1))
    banner = _preview_banner(survey, pages, language, raw, None if finished else number)
    with translation.override(language):
        if finished or not pages:
            return _preview_end(request, survey, language, banner, empty=not pages)
        return _preview_page(request, survey, pages, number, language, banner)


def _preview_url(survey: Survey, page: int | str, language: str) -> str:
    return reverse("admin:surveys_preview", args=[survey.pk]) + f"?page={page}&lang={language}"


def _preview_banner(
    survey: Survey, pages: list[Page], language: str, raw: str, current: int | None
) -> dict[str, Any]:
    """The researcher's bar above the previewed page: languages, pages, the end, the survey."""
    return {
        "survey": survey,
        "language": language,
        "languages": [
            {
                "code": code,
                "name": LANGUAGE_NAMES.get(code, code),
                "url": _preview_url(survey, raw, code),
            }
            for code in survey.languages
        ],
        "pages": [
            {"number": i, "code": p.code, "url": _preview_url(survey, i, language)}
            for i, p in enumerate(pages, start=1)
        ],
        "current": current,
        "end_url": _preview_url(survey, "end", language),
        "change_url": reverse("admin:surveys_survey_change", args=[survey.pk]),
    }


def _preview_end(
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


def _preview_page(
    request: HttpRequest,
    survey: Survey,
    pages: list[Page],
    number: int,
    language: str,
    banner: dict[str, Any],
) -> HttpResponse:
    """One previewed page: a POST is validated as the respondent's would be, then not stored."""
    page = pages[number - 1]
    questions = list(page.questions.all())
    action = request.POST.get("action", "next") if request.method == "POST" else None
    form = PageForm(
        request.POST if request.method == "POST" else None,
        questions=questions,
        language=language,
        fallback=survey.default_language,
        enforce_required=action in (None, "next", "submit"),
    )
    saved_message = ""
    if request.method == "POST":
        valid = form.is_valid()  # shows the respondent's error messages; stores nothing
        if valid and action == "back":
            return redirect(_preview_url(survey, max(number - 1, 1), language))
        if valid and action in ("next", "submit"):
            target = "end" if number >= len(pages) else str(number + 1)
            return redirect(_preview_url(survey, target, language))
        if valid and action == "save":
            saved_message = "Preview: nothing is saved, and no link is sent."
    banner["page_condition"] = (
        json.dumps(page.condition, ensure_ascii=False) if page.condition else ""
    )
    banner["question_conditions"] = [
        (q.code, json.dumps(q.condition, ensure_ascii=False)) for q in questions if q.condition
    ]
    context = {
        "survey": survey,
        "title": translate(survey.title, language, survey.default_language),
        "page": page,
        "page_title": form.t(page.title),
        "page_intro": form.t(page.intro),
        "items": form.items(),
        "form": form,
        "number": number,
        "total": len(pages),
        "percent": int(100 * (number - 1) / max(len(pages), 1)),
        "is_first": number == 1,
        "is_last": number == len(pages),
        "timer": "",
        "resume_url": "",
        "resume_days": 0,
        "saved_message": saved_message,
        "banner": banner,
    }
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "surveys/admin/preview.html", context, status=status)


# --- duplicate, open, close -----------------------------------------------------------------------


def duplicate(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    survey = _survey(request, pk, "edit")
    try:
        copy = survey_duplicate(survey=survey, actor=request.user)
    except DefinitionError as error:
        for problem in error.problems[:10]:
            messages.error(request, f"Could not duplicate: {problem}")
        return redirect("admin:surveys_survey_change", survey.pk)
    messages.success(
        request, f"Created the draft {copy.slug} from {survey.slug}; you are its owner."
    )
    return redirect("admin:surveys_survey_change", copy.pk)


def set_status(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    survey = _survey(request, pk, "edit")
    wanted = {"open": Survey.Status.OPEN, "close": Survey.Status.CLOSED}.get(
        request.POST.get("action", "")
    )
    if wanted is None:
        messages.error(request, "Choose to open or to close the survey.")
        return redirect("admin:surveys_survey_change", survey.pk)
    try:
        survey = survey_set_status(survey=survey, actor=request.user, status=wanted)
    except StatusError as error:
        messages.error(request, f"The survey was not {'opened' if wanted == 'open' else 'closed'}.")
        for problem in error.problems[:15]:
            messages.error(request, problem)
    else:
        messages.success(
            request, f"The survey {survey.slug} is now {survey.get_status_display().lower()}."
        )
    return redirect("admin:surveys_survey_change", survey.pk)


# --- roles ----------------------------------------------------------------------------------------


def roles(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    """The survey's roles; owners give, change and remove them through access.role_set."""
    survey = _survey(request, pk, "manage_roles")
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        role = request.POST.get("role", "")
        user = get_user_model().objects.filter(username=username).first() if username else None
        if user is None:
            messages.error(request, f"There is no account named “{username}”.")
            status = 400
        else:
            try:
                access.role_set(
                    actor=request.user,
                    survey=survey,
                    user=user,
                    role=None if role in ("", "none") else role,
                )
            except (ValueError, access.PermissionDenied) as error:
                messages.error(request, str(error))
                status = 400
            else:
                if role in ("", "none"):
                    messages.success(request, f"{username} no longer has a role on {survey.slug}.")
                else:
                    messages.success(request, f"{username} is now {role} of {survey.slug}.")
                    if not user.is_staff:
                        messages.warning(
                            request,
                            f"{username} is not a staff account and cannot sign in to the admin.",
                        )
                return redirect("admin:surveys_roles", survey.pk)
    context = {
        **_context(request, model_admin, survey, f"Roles: {survey.slug}"),
        "roles": survey.roles.select_related("user").order_by("user__username"),
        "choices": Role.choices,
        "audit_url": reverse("admin:surveys_auditentry_changelist")
        + f"?survey__id__exact={survey.pk}&action__exact=role",
    }
    return TemplateResponse(request, "surveys/admin/roles.html", context, status=status)


# --- exports --------------------------------------------------------------------------------------


def export(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    """Exports of one survey: a streamed CSV now, or XLSX/SAV/DTA/zipped CSV as a background job.

    The requester sees their own jobs with status, progress and download links (the downloads
    and every request are checked and audited by surveys.exports.services).
    """
    survey = _survey(request, pk, "export")
    status = 200
    if request.method == "POST":
        asked_at = timezone.now()
        try:
            job = export_services.export_request(
                user=request.user,
                survey=survey,
                format=request.POST.get("format", ""),
                labels=request.POST.get("values", "codes"),
                language=request.POST.get("language") or None,
                status=request.POST.get("responses", "complete"),
            )
        except export_services.ExportRequestError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            # An identical unfinished export is returned as it is, created before this request.
            queued = "already queued" if job.created_at < asked_at else "queued"
            messages.success(
                request,
                f"Export {job.pk} ({job.get_format_display()}) is {queued}: it appears below "
                "with a download link when it is ready.",
            )
            return redirect("admin:surveys_export", survey.pk)
    jobs = list(export_services.export_jobs_for(user=request.user, survey=survey)[:50])
    context = {
        **_context(request, model_admin, survey, f"Export: {survey.slug}"),
        "jobs": [
            {
                "job": job,
                "download": reverse("surveys:export-download", args=[job.pk])
                if job.status == ExportJob.Status.DONE
                else "",
                "percent": (
                    round(100 * job.rows_done / job.rows_total) if job.rows_total else None
                ),
            }
            for job in jobs
        ],
        "refresh": any(
            j.status in (ExportJob.Status.PENDING, ExportJob.Status.RUNNING) for j in jobs
        ),
        "formats": [(f, label) for f, label in ExportJob.Format.choices],
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in survey.languages],
        "scopes": ExportJob.Scope.choices,
        "stream_url": reverse("surveys:export-stream-csv", args=[survey.slug]),
        "codebook_url": reverse("surveys:export-codebook", args=[survey.slug]),
    }
    return TemplateResponse(request, "surveys/admin/export.html", context, status=status)
