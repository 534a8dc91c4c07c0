"""What an export request may ask for: formats, options and their validation, and the errors.

Every service of the exports package validates through `export_options` and raises one of the
`ExportRequestError`s here, which views turn into 4xx answers with the message shown as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import QuerySet

from surveys.core.access import PermissionDenied, User, has_permission
from surveys.models import ExportJob, Response, Survey
from surveys.variables.sources import survey_responses

Format = ExportJob.Format
Status = ExportJob.Status

FORMAT_ALIASES = {
    "csv": Format.CSV,
    "xlsx": Format.XLSX,
    "excel": Format.XLSX,
    "sav": Format.SAV,
    "spss": Format.SAV,
    "dta": Format.DTA,
    "stata": Format.DTA,
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
}
CODEBOOK_FORMATS = ("html", "csv", "json", "md")
# Never exported, whatever a variable provider might declare: they link a response to a person's
# resume link or receipt code.
PRIVATE_RESPONSE_FIELDS = frozenset({"resume_hash", "resume_expires_at", "receipt_hash"})
# Responses read from the database per query while writing: bounds memory, not the file size.
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


# --- errors --------------------------------------------------------------------------------------
class ExportRequestError(Exception):
    """A request the user can correct or must be told about; `message` is shown, `status` used."""

    status = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ExportInvalid(ExportRequestError):
    """Unknown format, language not offered, unknown values or responses choice."""


class ExportForbidden(ExportRequestError, PermissionDenied):
    """The user may not export this survey's data."""

    status = 403


class ExportTooLarge(ExportRequestError):
    """Too many rows to stream to the browser: request a background export instead."""


class ExportTooMany(ExportRequestError):
    """The user already has EXPORT_MAX_PENDING exports pending or running."""

    status = 429


class ExportNotFound(ExportRequestError):
    """No such export for this user (also when it exists but is someone else's)."""

    status = 404


class ExportNotReady(ExportRequestError):
    """The export is still pending or running, or it failed."""

    status = 409


class ExportExpired(ExportRequestError):
    """The export's file was deleted after its expiry."""

    status = 410


class ExportWithdrawn(ExportRequestError):
    """The export's file was deleted because a respondent withdrew a response after it."""

    status = 410


WITHDRAWN_MESSAGE = (
    "A respondent withdrew their response after this export was written, so its file was "
    "deleted: request a new export."
)


# --- options -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportOptions:
    """What to export: format, labels or codes, the language of labels, which responses."""

    format: str
    labels: bool
    language: str
    responses: str

    @property
    def values(self) -> str:
        return ExportJob.Values.LABELS if self.labels else ExportJob.Values.CODES


def _parse_format(value: object) -> str:
    key = str(value or "").strip().lower().lstrip(".")
    if key not in FORMAT_ALIASES:
        raise ExportInvalid(
            f"Unknown export format {str(value)[:20]!r}: choose csv, xlsx (Excel), "
            "sav (SPSS) or dta (Stata)."
        )
    return FORMAT_ALIASES[key]


def _parse_labels(value: object) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value or "").strip().lower()
    if key in {"labels", "label"}:
        return True
    if key in {"codes", "code", ""}:
        return False
    raise ExportInvalid(
        f"Unknown choice {str(value)[:20]!r} for the values: choose labels or codes."
    )


def _parse_language(survey: Survey, value: object) -> str:
    language = str(value or "").strip() or survey.default_language
    if language not in survey.languages:
        offered = ", ".join(survey.languages) or survey.default_language
        raise ExportInvalid(
            f"This survey is not offered in {language[:20]!r}: choose one of {offered}."
        )
    return language


def _parse_responses(value: object) -> str:
    key = str(value or "").strip().lower() or ExportJob.Scope.COMPLETE
    if key not in ExportJob.Scope.values:
        raise ExportInvalid(
            f"Unknown response status {str(value)[:20]!r}: choose complete, in_progress or all."
        )
    return key


def export_options(
    *,
    survey: Survey,
    format: str,
    labels: bool | str = False,
    language: str | None = None,
    status: str = "complete",
) -> ExportOptions:
    """Validated export options; raises ExportInvalid with a message saying what to choose."""
    return ExportOptions(
        format=_parse_format(format),
        labels=_parse_labels(labels),
        language=_parse_language(survey, language),
        responses=_parse_responses(status),
    )


def _require_export(user: User, survey: Survey) -> None:
    if not has_permission(user=user, survey=survey, permission="export"):
        raise ExportForbidden("You do not have permission to export the data of this survey.")


def export_responses(*, survey: Survey, responses: str = "complete") -> QuerySet[Response]:
    """The responses an export holds: complete ones by default, or in progress, or all."""
    return survey_responses(survey=survey, status=responses)


def _stem(survey: Survey, when: datetime, values: str) -> str:
    slug = _SAFE_NAME.sub("-", survey.slug).strip("-")[:80] or "survey"
    return f"{slug}_{when.astimezone(UTC):%Y-%m-%d}_{values}"


def export_filename(*, job: ExportJob) -> str:
    """The name a job's file is downloaded under: survey slug, date, values and format."""
    stem = _stem(job.survey, job.created_at, job.values)
    return f"{stem}.xlsx" if job.format == Format.XLSX else f"{stem}_{job.format}.zip"
