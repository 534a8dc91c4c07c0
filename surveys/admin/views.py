"""Admin pages of one survey: dashboard, respondent preview, roles, duplicate, open and close.

The views check the user's role on the survey and translate domain errors into messages; the
state changes are the plain functions at the top (each audited), the figures come from
surveys.statistics.dashboard.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation

from surveys.admin.charts import timeline_chart
from surveys.admin.preview import preview as preview_page
from surveys.admin.widgets import LANGUAGE_NAMES
from surveys.core import access
from surveys.core.i18n import translate
from surveys.definitions.services import (
    MoveError,
    StatusError,
    survey_duplicate,
    survey_move,
    survey_set_status,
)
from surveys.definitions.transfer import (
    SUPPORTED_LANGUAGES,
    DefinitionError,
)
from surveys.exports import services as export_services
from surveys.models import ExportJob, Survey, SurveyRole
from surveys.respondent.testing import responses_test_count, responses_test_delete
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
        tests = responses_test_count(survey=survey)
        if tests:
            tools.append(
                {
                    "label": f"Delete {tests} test response(s)",
                    "url": reverse("admin:surveys_delete_tests", args=[survey.pk]),
                    "post": "delete-tests",
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
    # Owners and editors may download the raw data: their dashboard hides no count from them.
    internal = access.has_permission(user=request.user, survey=survey, permission="edit")
    data = survey_dashboard(
        survey=survey,
        language=_admin_language(survey),
        risk=request.GET.get("risk"),
        concerns=request.GET.get("concerns"),
        suppress=not internal,
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


# --- preview and test mode (surveys.admin.preview) ------------------------------------------------


def preview(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    return preview_page(request, survey=_survey(request, pk, "view"))


def delete_test_responses(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    """Delete the survey's test responses (owners and editors; audited)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    survey = _survey(request, pk, "edit")
    count = responses_test_delete(survey=survey, actor=request.user)
    messages.success(request, f"Deleted {count} test response(s) of {survey.slug}.")
    return redirect("admin:surveys_survey_change", survey.pk)


# --- the order of pages and questions -------------------------------------------------------------


def move(request: HttpRequest, *, model_admin: Any, pk: int) -> HttpResponse:
    """Move a page, or a question within its page, one place up or down (the outline's arrows)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    survey = _survey(request, pk, "edit")
    kind, _sep, rest = request.POST.get("move", "").partition(":")
    raw_id, _sep, direction = rest.partition(":")
    anchor = ""
    try:
        if not raw_id.isdigit():
            raise MoveError("Choose a page or a question to move.")
        survey_move(survey=survey, kind=kind, pk=int(raw_id), direction=direction)
    except MoveError as error:
        messages.error(request, str(error))
    else:
        anchor = "#outline"
    return redirect(reverse("admin:surveys_survey_change", args=[survey.pk]) + anchor)


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
