"""Export downloads for researchers: a finished job's file, a CSV streamed live, the codebook.

Views validate and translate the export services' errors into plain-text 4xx answers. A job's
file is served only to the researcher who requested it (404 for anyone else, so that its
existence is not revealed) and only while it has not expired (410 after).
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from surveys.exports import services as export_services
from surveys.exports.services import ExportNotFound, ExportRequestError
from surveys.models import Survey


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _message(error: ExportRequestError) -> HttpResponse:
    return _private(  # type: ignore[return-value]
        HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")
    )


def _login(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(request.get_full_path(), login_url=reverse("admin:login"))


@require_GET
def export_download(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """The file of a finished export job, as an attachment, for its requester only."""
    if not request.user.is_authenticated:
        return _login(request)
    try:
        export = export_services.export_download(user=request.user, job_id=job_id)
    except ExportNotFound:
        raise Http404("There is no such export.") from None
    except ExportRequestError as error:
        return _message(error)
    try:
        handle = open(export.path, "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError:  # the sweep deleted it a moment ago
        return _message(
            export_services.ExportExpired("This export has expired: request a new one.")
        )
    response = FileResponse(
        handle, as_attachment=True, filename=export.filename, content_type=export.content_type
    )
    return _private(response)


@require_GET
def export_stream_csv(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The survey's data as CSV, written while it is sent.

    Query: values=codes|labels, language=<one the survey offers>,
    responses=complete|in_progress|all.
    """
    if not request.user.is_authenticated:
        return _login(request)
    survey = get_object_or_404(Survey, slug=slug)
    try:
        stream = export_services.export_stream_csv(
            user=request.user,
            survey=survey,
            labels=request.GET.get("values", "codes"),
            language=request.GET.get("language"),
            status=request.GET.get("responses", "complete"),
        )
    except ExportRequestError as error:
        return _message(error)
    response = StreamingHttpResponse(stream.chunks, content_type=stream.content_type)
    response["Content-Disposition"] = content_disposition_header(True, stream.filename)
    return _private(response)


@require_GET
def export_codebook(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The codebook of the survey's exports. Query: format=html|csv|json|md, language."""
    if not request.user.is_authenticated:
        return _login(request)
    survey = get_object_or_404(Survey, slug=slug)
    try:
        document = export_services.export_codebook(
            user=request.user,
            survey=survey,
            language=request.GET.get("language"),
            format=request.GET.get("format", "html"),
            responses=request.GET.get("responses", "complete"),
        )
    except ExportRequestError as error:
        return _message(error)
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(True, document.filename)
    return _private(response)
