"""A survey's data as a CSV streamed straight to the browser, in constant memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from surveys.core.access import User, audit_record
from surveys.exports.codebook import export_variables
from surveys.exports.formats import iter_csv
from surveys.exports.missing import rows_with_reasons
from surveys.exports.requests import (
    CONTENT_TYPES,
    ExportTooLarge,
    Format,
    _require_export,
    _stem,
    export_options,
    export_responses,
)
from surveys.models import AuditEntry, Survey
from surveys.variables.reader import variable_rows


@dataclass(frozen=True)
class ExportStream:
    """A CSV produced while it is sent: pass `chunks` to a StreamingHttpResponse."""

    filename: str
    content_type: str
    rows: int
    chunks: Iterator[bytes]


def export_stream_csv(
    *,
    user: User,
    survey: Survey,
    labels: bool | str = False,
    language: str | None = None,
    status: str = "complete",
) -> ExportStream:
    """The survey's data as a CSV streamed in constant memory (with a BOM for Excel); audited.

    Raises ExportForbidden, ExportInvalid, or ExportTooLarge above settings.EXPORT_STREAM_MAX_ROWS.
    """
    _require_export(user, survey)
    options = export_options(
        survey=survey, format=Format.CSV, labels=labels, language=language, status=status
    )
    responses = export_responses(survey=survey, responses=options.responses)
    rows = responses.count()
    if rows > settings.EXPORT_STREAM_MAX_ROWS:
        raise ExportTooLarge(
            f"{rows} responses are too many to download directly (at most "
            f"{settings.EXPORT_STREAM_MAX_ROWS}): request a background export instead."
        )
    source, variables = export_variables(survey=survey, language=options.language)
    now = timezone.now()
    audit_record(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        survey=survey,
        summary=f"Downloaded a CSV of {rows} responses ({options.values}, {options.language})",
        details={
            "event": "stream",
            "format": Format.CSV,
            "values": options.values,
            "language": options.language,
            "responses": options.responses,
            "rows": rows,
        },
    )
    chunks = iter_csv(
        rows_with_reasons(
            variable_rows(survey=survey, variables=source, status=options.responses),
            survey=survey,
            variables=source,
        ),
        variables,
        labels=options.labels,
        bom=True,
    )
    return ExportStream(
        filename=f"{_stem(survey, now, options.values)}.csv",
        content_type=CONTENT_TYPES["csv"],
        rows=rows,
        chunks=chunks,
    )
