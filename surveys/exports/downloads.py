"""Finding a user's exports and handing out the file of a finished one (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from surveys.core.access import User, audit_record, has_permission
from surveys.exports.requests import (
    CONTENT_TYPES,
    ExportExpired,
    ExportNotFound,
    ExportNotReady,
    ExportWithdrawn,
    Format,
    Status,
    export_filename,
)
from surveys.models import AuditEntry, ExportJob, Survey


def export_jobs_for(*, user: User, survey: Survey | None = None) -> QuerySet[ExportJob]:
    """The export jobs `user` requested (of `survey`, when given), newest first."""
    if not user.is_authenticated:
        return ExportJob.objects.none()
    jobs = ExportJob.objects.filter(requested_by_id=user.pk).select_related("survey")
    return jobs.filter(survey=survey) if survey is not None else jobs


def export_job_for_requester(*, user: User, job_id: int | str) -> ExportJob:
    """The job if `user` requested it and may still export its survey; else ExportNotFound.

    Anyone else gets the same answer as for a job that does not exist.
    """
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        raise ExportNotFound("There is no such export.") from None
    job = export_jobs_for(user=user).filter(pk=pk).first()
    if job is None or not has_permission(user=user, survey=job.survey, permission="export"):
        raise ExportNotFound("There is no such export.")
    return job


def _file_path(job: ExportJob) -> Path | None:
    if not job.file:
        return None
    root = Path(settings.EXPORT_DIR).resolve()
    path = (root / job.file).resolve()
    # The name is ours, but a path outside the export directory is never served.
    if path.parent != root or not path.is_file():
        return None
    return path


@dataclass(frozen=True)
class ExportFile:
    """A finished export ready to send: open `path` and serve it as `filename`."""

    job: ExportJob
    path: Path
    filename: str
    content_type: str
    size: int


def export_download(*, user: User, job_id: int | str) -> ExportFile:
    """The file of a finished export, for the user who requested it only; audited.

    Raises ExportNotFound (not theirs, or no export permission any more: existence is not
    revealed), ExportNotReady (pending, running or failed) or ExportExpired.
    """
    job = export_job_for_requester(user=user, job_id=job_id)
    now = timezone.now()
    if job.status == Status.WITHDRAWN:
        raise ExportWithdrawn(job.error)
    if job.status == Status.EXPIRED or (
        job.status == Status.DONE and job.expires_at is not None and job.expires_at <= now
    ):
        raise ExportExpired("This export has expired and its file was deleted: request a new one.")
    if job.status == Status.FAILED:
        raise ExportNotReady(f"This export failed: {job.error or 'no reason was recorded'}.")
    if job.status != Status.DONE:
        total = f" of {job.rows_total}" if job.rows_total is not None else ""
        raise ExportNotReady(
            f"This export is still being prepared ({job.rows_done}{total} rows written): "
            "try again in a moment."
        )
    path = _file_path(job)
    if path is None:
        raise ExportExpired("This export's file is no longer available: request a new one.")
    audit_record(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        survey=job.survey,
        summary=f"Downloaded {job.format.upper()} export {job.pk} ({job.rows_done} responses)",
        details={
            "event": "download",
            "job": job.pk,
            "format": job.format,
            "values": job.values,
            "language": job.language,
            "rows": job.rows_done,
        },
    )
    return ExportFile(
        job=job,
        path=path,
        filename=export_filename(job=job),
        content_type=CONTENT_TYPES["xlsx" if job.format == Format.XLSX else "zip"],
        size=path.stat().st_size,
    )
