"""Data exports: request, run, download and sweep them (services), and find them (selectors).

The file writing lives in `exports.formats`, a plain library with no Django import; this module
turns a survey and its responses into that library's `Variable`s and rows, and keeps the state of
each background export in an `ExportJob` row: the database, not the Celery result backend, is the
record (the kobotoolbox/kpi pattern). A periodic sweep expires old files and re-queues lost jobs.

What a researcher gets:
- XLSX: one workbook with the sheets "data", "codebook" and "about".
- CSV, SAV and DTA as a background job: a .zip holding the data file, ``<name>_codebook.csv``
  (one row per variable and per value label: names in each format, question wording, value
  labels, category definitions) and ``<name>_codebook.html`` (the same, readable in a browser).
- CSV streamed straight to the browser (`export_stream_csv`): the bare CSV; its codebook is a
  download of its own (`export_codebook`).
Every request and every download of a file writes an audit entry (action "export").
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from config.tasks import EXPORT_RUN, TRANSIENT_ERRORS, publish
from surveys.core.access import PermissionDenied, User, audit_record, has_permission
from surveys.core.i18n import translate
from surveys.exports.formats import (
    Codebook,
    ExportError,
    Variable,
    WriteReport,
    iter_csv,
    render_codebook,
    write_csv,
    write_dta,
    write_sav,
    write_xlsx,
)
from surveys.models import Answer, AuditEntry, ExportJob, Question, Response, Survey
from surveys.variables.catalogue import SurveyVariable, response_rows, survey_variables

logger = logging.getLogger(__name__)

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
CHUNK_SIZE = 250
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


class ExportNotFound(ExportRequestError):
    """No such export for this user (also when it exists but is someone else's)."""

    status = 404


class ExportNotReady(ExportRequestError):
    """The export is still pending or running, or it failed."""

    status = 409


class ExportExpired(ExportRequestError):
    """The export's file was deleted after its expiry."""

    status = 410


class _ClaimLost(Exception):
    """Another run took the job over (the sweep re-queued it): stop without touching the row."""


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


# --- variables, rows, codebook -------------------------------------------------------------------
def _is_private(variable: SurveyVariable) -> bool:
    source = variable.source
    return bool(source) and source[0] == "response" and source[1] in PRIVATE_RESPONSE_FIELDS


def _description(variable: SurveyVariable) -> str:
    origin = variable.source[0] if variable.source else ""
    if origin == "response":
        return "About the response"
    if origin in {"answer", "flag", "other"}:
        return f"Question {variable.group}"
    return f"Derived ({origin}): {variable.group}" if origin else ""


def export_variable(variable: SurveyVariable, language: str) -> Variable:
    """The writer library's description of one survey variable, worded in `language`."""
    labels = {
        code: translate(texts, language) or code for code, texts in variable.value_labels.items()
    }
    definitions = {}
    for code, texts in variable.definitions.items():
        text = translate(texts, language)
        if text and code in labels:
            definitions[code] = text
    return Variable(
        name=variable.name,
        label=variable.label_in(language) or variable.name,
        kind=variable.kind,
        value_labels=labels,
        measure=variable.measure,
        description=_description(variable),
        value_definitions=definitions,
    )


def export_variables(
    *, survey: Survey, language: str
) -> tuple[list[SurveyVariable], list[Variable]]:
    """The survey's exportable variables (derived ones included) and their export descriptions."""
    variables = [v for v in survey_variables(survey=survey) if not _is_private(v)]
    return variables, [export_variable(v, language) for v in variables]


def export_responses(*, survey: Survey, responses: str = "complete") -> QuerySet[Response]:
    """The responses an export holds: complete ones by default, or in progress, or all."""
    queryset = Response.objects.filter(survey=survey)
    if responses != ExportJob.Scope.ALL:
        queryset = queryset.filter(status=responses)
    return queryset


# --- reading rows --------------------------------------------------------------------------------
# Responses read per query by the PostgreSQL reader (and asked of variable providers at once):
# at most READ_CHUNK, fewer when they wrote long texts, so that a chunk holds about
# READ_CHUNK_TEXT characters of free text. Bounds memory (a few MB), not the file size.
READ_CHUNK = 2000
READ_CHUNK_FIRST = 250
READ_CHUNK_TEXT = 128 * 1024
# Chunks read ahead by a second connection while rows are built (0: read in turn).
READ_AHEAD = 1
_DATETIME_FIELDS = {"DateTimeField"}
_TEXT_FIELDS = {"CharField", "TextField", "SlugField", "EmailField", "UUIDField"}
_INT_FIELDS = {
    "AutoField",
    "BigAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
}
# How an answer becomes the value of its column (mirrors surveys.variables.catalogue._answer_value).
_CHOICE, _NUMBER, _TEXT, _BOOLEAN = range(4)


@dataclass
class _QuestionPlan:
    """Where one question's answers go in a row: positions by matrix row, flags, other text."""

    cells: dict[str, tuple[int, int]]  # row code -> (position, _CHOICE/_NUMBER/_TEXT/_BOOLEAN)
    flags: dict[str, int]  # choice code -> position of its 0/1 column
    flag_positions: list[int]  # every flag column, set to 0 when the question is answered
    other: int | None  # position of the "other (specified)" text


@dataclass
class _ReadPlan:
    """What the PostgreSQL reader selects and where each value lands, worked out once."""

    width: int
    columns: list[tuple[int, str, str]]  # (position, column, Django field type) of responses
    duration: list[int]  # positions of the time spent (sum of page_seconds)
    questions: dict[int, _QuestionPlan]
    providers: list[tuple[Any, list[SurveyVariable]]]
    by_name: dict[str, int]
    text: set[int]  # positions of text variables, where a blank value stays blank


def _read_plan(variables: Sequence[SurveyVariable]) -> _ReadPlan | None:
    """The plan for `variables`, or None when one comes from a source only the ORM can read."""
    from surveys.variables.catalogue import _providers

    question_ids = {
        v.source[1] for v in variables if v.source and v.source[0] in {"answer", "flag", "other"}
    }
    types = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "type"))
    questions = {pk: _QuestionPlan({}, {}, [], None) for pk in types}
    columns: list[tuple[int, str, str]] = []
    duration: list[int] = []
    providers: dict[str, tuple[Any, list[SurveyVariable]]] = {}
    for position, variable in enumerate(variables):
        source = variable.source
        origin = source[0] if source else ""
        if origin == "response":
            if source[1] == "duration":
                duration.append(position)
                continue
            try:
                field = Response._meta.get_field(source[1])
            except FieldDoesNotExist:  # a computed attribute: the ORM reader handles it
                return None
            kind = field.get_internal_type()
            if not getattr(field, "column", None) or kind not in (
                _DATETIME_FIELDS | _TEXT_FIELDS | _INT_FIELDS | {"BooleanField"}
            ):
                return None
            columns.append((position, field.column, kind))
        elif origin in {"answer", "flag", "other"}:
            plan = questions.get(source[1])
            if plan is None:
                continue  # not a question of this database: the ORM reader ignores it too
            if origin == "answer":
                if types[source[1]] == Question.Type.YES_NO:
                    mode = _BOOLEAN
                elif variable.kind == "numeric":
                    mode = _NUMBER
                elif variable.kind == "text":
                    mode = _TEXT
                else:
                    mode = _CHOICE
                plan.cells[source[2]] = (position, mode)
            elif origin == "flag":
                if (
                    variable.kind == "multi_flag"
                    and types[source[1]] == Question.Type.MULTIPLE_CHOICE
                ):
                    plan.flag_positions.append(position)
                plan.flags[source[2]] = position
            else:
                plan.other = position
        elif origin in _providers:
            providers.setdefault(origin, (_providers[origin], []))[1].append(variable)
    return _ReadPlan(
        width=len(variables),
        columns=columns,
        duration=duration,
        questions=questions,
        providers=list(providers.values()),
        by_name={v.name: i for i, v in enumerate(variables)},
        text={i for i, v in enumerate(variables) if v.kind == "text"},
    )


def _responses_sql(plan: _ReadPlan, scope: str) -> str:
    quote = connection.ops.quote_name
    columns = "".join(f", r.{quote(column)}" for _p, column, _k in plan.columns)
    status = "" if scope == ExportJob.Scope.ALL else " AND r.status = %s"
    # Names come from the models, values are parameters.
    return (
        f"SELECT r.id, r.page_seconds{columns} FROM {quote(Response._meta.db_table)} r "  # noqa: S608  # nosec B608  # quoted model names, values are parameters
        f"WHERE r.survey_id = %s AND r.id > %s{status} ORDER BY r.id LIMIT %s"
    )


def _answers_sql() -> str:
    # A range scan of the (response, question, row) index; answers of other surveys' or
    # statuses' responses inside the range are skipped while reading. choices stays text: it is
    # decoded only when an option was chosen.
    table = connection.ops.quote_name(Answer._meta.db_table)
    return (
        "SELECT a.response_id, a.question_id, a.row, a.choice, a.choices::text, a.number, "  # noqa: S608  # nosec B608  # model names only, values are parameters
        f"a.boolean, a.text FROM {table} a WHERE a.response_id BETWEEN %s AND %s"
    )


def _decode_choices(text: str) -> list[str]:
    """The option codes of a stored multiple choice, from jsonb's text form."""
    if text.startswith('["') and "\\" not in text:
        # jsonb writes ["a", "b"]; without a backslash no code holds a quote, so split.
        return text[2:-2].split('", "')
    return json.loads(text)


# A chunk as read: the responses' columns, their answers' columns, and the values of derived
# variables as each provider gave them.
_Chunk = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[dict[int, dict[str, Any]]]]


def _fast_datetimes(cursor: Any) -> None:
    """Load timestamptz with psycopg's C loader on this cursor: the same aware UTC datetimes.

    Django's loader (registered on each cursor) is written in Python and only sets the time
    zone, which the C loader also does when the session's time zone is UTC (USE_TZ).
    """
    if not settings.USE_TZ or connection.timezone_name != "UTC":
        return
    import psycopg

    raw = getattr(cursor, "cursor", None)
    types = psycopg.postgres.types
    loader = psycopg.postgres.adapters.get_loader(types["timestamptz"].oid, psycopg.pq.Format.TEXT)
    if raw is not None and loader is not None:
        raw.adapters.register_loader("timestamptz", loader)


def _read_chunks(survey: Survey, plan: _ReadPlan, scope: str) -> Iterator[_Chunk]:
    """Chunks of responses, their answers and derived values: all the reads of one export.

    Each chunk is fetched whole (psycopg's C loaders, no ORM converter or model instance per
    answer), so no query stays open while a slow client downloads. At most READ_CHUNK responses
    a chunk, fewer after responses with long texts, so that memory stays flat.
    """
    responses_sql, answers_sql = _responses_sql(plan, scope), _answers_sql()
    last_id = 0
    size = READ_CHUNK_FIRST
    while True:
        params: list[Any] = [survey.pk, last_id]
        if scope != ExportJob.Scope.ALL:
            params.append(str(scope))
        with connection.cursor() as cursor:
            _fast_datetimes(cursor)
            cursor.execute(responses_sql, [*params, size])
            found = cursor.fetchall()
            if not found:
                return
            cursor.execute(answers_sql, [found[0][0], found[-1][0]])
            answers = cursor.fetchall()
        first_id, last_id = found[0][0], found[-1][0]
        derived: list[dict[int, dict[str, Any]]] = []
        if plan.providers:
            # The chunk's ids as a subquery (the same responses: the same filter over their id
            # range): one parameter pair instead of some 2,000 ids for Django to bind and send.
            ids = (
                export_responses(survey=survey, responses=scope)
                .filter(pk__range=(first_id, last_id))
                .values_list("pk", flat=True)
            )
            derived = [
                provider.values(survey, wanted, ids)  # type: ignore[arg-type]
                for provider, wanted in plan.providers
            ]
        # Texts of other surveys' responses inside the id range count too: a little smaller
        # chunks at worst.
        text_chars = sum(map(len, filter(None, [answer[7] for answer in answers])))
        per_response = text_chars / len(found)
        size = max(1, min(READ_CHUNK, int(READ_CHUNK_TEXT / max(per_response, 1.0))))
        yield found, answers, derived


def _read_ahead(chunks: Callable[[], Iterator[_Chunk]], depth: int) -> Iterator[_Chunk]:
    """The chunks of `chunks()`, read by a thread with its own connection, `depth` ahead.

    PostgreSQL runs the next chunk's queries (and the client waits on them) while this thread
    turns the current chunk into rows. The bounded queue keeps memory flat; the reader stops and
    closes its connection when the rows are no longer wanted (a client gone, a time limit).
    """
    items: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def run() -> None:
        try:
            with contextlib.closing(chunks()) as reader:
                for chunk in reader:
                    if not put((True, chunk)):
                        return
            put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there as it was
            put((False, exc))
        finally:
            connection.close()  # this thread's own connection, not the caller's

    thread = threading.Thread(target=run, name="export-reader", daemon=True)
    thread.start()
    try:
        while True:
            more, item = items.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _postgresql_rows(survey: Survey, plan: _ReadPlan, scope: str) -> Iterator[list[Any]]:
    """Rows built from plain-column chunks (`_read_chunks`), one list per response in id order.

    Outside a transaction the chunks are read READ_AHEAD ahead by a second connection (a
    transaction's uncommitted rows are visible to its own connection only). Blank values of
    non-text variables are made missing (None) here, where they arise.
    """
    width = plan.width
    questions = {
        pk: (q.cells, q.flags, q.flag_positions, q.other) for pk, q in plan.questions.items()
    }
    columns = [(position, position not in plan.text) for position, _c, _k in plan.columns]
    duration = plan.duration
    loads = json.loads
    derive = [
        [
            (variable.name, plan.by_name[variable.name], variable.kind != "text")
            for variable in wanted
        ]
        for _provider, wanted in plan.providers
    ]
    chunks: Iterator[_Chunk]
    if READ_AHEAD > 0 and not connection.in_atomic_block:
        chunks = _read_ahead(lambda: _read_chunks(survey, plan, scope), READ_AHEAD)
    else:
        chunks = _read_chunks(survey, plan, scope)
    for found, answers, derived in chunks:
        rows: dict[int, list[Any]] = {}
        order: list[list[Any]] = []
        for response_id, pages, *values in found:
            row: list[Any] = [None] * width
            for (position, blank_is_missing), value in zip(columns, values, strict=True):
                row[position] = None if blank_is_missing and value == "" else value
            if duration:
                pages = loads(pages) if isinstance(pages, str) else pages
                seconds = Decimal(sum(int(v) for v in pages.values())) if pages else None
                for position in duration:
                    row[position] = seconds
            rows[response_id] = row
            order.append(row)
        current: Any = None
        row = None  # type: ignore[assignment]
        for response_id, question_id, row_code, choice, choices, number, boolean, text in answers:
            if response_id != current:  # the index scan returns a response's answers together
                current, row = response_id, rows.get(response_id)  # type: ignore[assignment]
            question = questions.get(question_id)
            if row is None or question is None:
                continue
            cells, flags, flag_positions, other = question
            cell = cells.get(row_code)
            if cell is not None:
                position, mode = cell
                if mode == _CHOICE:
                    row[position] = choice or None
                elif mode == _BOOLEAN:
                    row[position] = None if boolean is None else ("1" if boolean else "0")
                elif mode == _NUMBER:
                    row[position] = number
                else:
                    row[position] = text
            if flag_positions:
                # Answered without an option is "not selected", not missing.
                for position in flag_positions:
                    if row[position] is None:
                        row[position] = 0
            if choices != "[]":
                for code in _decode_choices(choices):
                    position = flags.get(code)
                    if position is not None:
                        row[position] = 1
            if text and other is not None:
                row[other] = text
        for values_by_response, wanted in zip(derived, derive, strict=True):
            for response_id, values in values_by_response.items():
                row = rows.get(response_id)  # type: ignore[assignment]
                if row is None:
                    continue
                for name, position, blank_is_missing in wanted:
                    if name in values:
                        value = values[name]
                        row[position] = None if blank_is_missing and value == "" else value
        del found, answers, rows, derived
        yield from order


def export_rows(
    *,
    survey: Survey,
    variables: Sequence[SurveyVariable],
    responses: str = "complete",
    portable: bool = False,
) -> Iterator[list[Any]]:
    """Raw values aligned with `variables`, one list per response in id order, in flat memory.

    On PostgreSQL plain queries read chunks of responses and their answers' columns (no model
    instance or ORM converter per answer); elsewhere, or with `portable`,
    surveys.variables.catalogue.response_rows reads them. Both yield the same rows. Blank values of
    non-text variables are missing (None).
    """
    plan = None
    if not portable and connection.vendor == "postgresql":
        plan = _read_plan(variables)
    if plan is not None:
        yield from _postgresql_rows(survey, plan, responses)
        return
    queryset = export_responses(survey=survey, responses=responses)
    # An empty string is no category, number or time: it is a missing value.
    blank_is_missing = [i for i, v in enumerate(variables) if v.kind != "text"]
    for _response, values in response_rows(
        survey=survey, variables=variables, responses=queryset, chunk_size=CHUNK_SIZE
    ):
        for i in blank_is_missing:
            if values[i] == "":
                values[i] = None
        yield values


def _codebook(
    survey: Survey,
    options: ExportOptions,
    variables: Sequence[Variable],
    *,
    rows: int,
    when: datetime,
) -> Codebook:
    language = options.language
    scope = ExportJob.Scope(options.responses).label
    if options.format in {Format.SAV, Format.DTA}:
        values = "Categories are stored as codes with their value labels attached."
    elif options.labels:
        values = f"Categories are written as their labels in {language}."
    else:
        values = "Categories are written as codes; their labels are listed in the codebook."
    notes = [
        f"One row per response: {str(scope).lower()} ({rows} at the time of export).",
        values,
        "Free-text answers are exported as respondents gave them; they may contain details a "
        "respondent chose to write about themselves.",
        "Variables whose names start with cls_ are codings of free-text answers by the "
        "classifier (the category, or 0/1 per category of a multi-label codebook, the "
        "confidence between 0 and 1, and the review status); they are empty where an answer "
        "has not been coded.",
        "Resume links and receipt codes are never exported.",
    ]
    return Codebook(
        variables=variables,
        title=survey.text("title", language) or survey.slug,
        language=language,
        notes=notes,
        metadata={
            "survey": survey.slug,
            "exported_at": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "responses": options.responses,
            "values": options.values,
            "format": options.format,
            "rows": str(rows),
        },
    )


def _stem(survey: Survey, when: datetime, values: str) -> str:
    slug = _SAFE_NAME.sub("-", survey.slug).strip("-")[:80] or "survey"
    return f"{slug}_{when.astimezone(UTC):%Y-%m-%d}_{values}"


def export_filename(*, job: ExportJob) -> str:
    """The name a job's file is downloaded under: survey slug, date, values and format."""
    stem = _stem(job.survey, job.created_at, job.values)
    return f"{stem}.xlsx" if job.format == Format.XLSX else f"{stem}_{job.format}.zip"


# --- streamed CSV and codebook -------------------------------------------------------------------
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
        export_rows(survey=survey, variables=source, responses=options.responses),
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


@dataclass(frozen=True)
class ExportDocument:
    """A small generated file (a codebook) held in memory."""

    filename: str
    content_type: str
    content: bytes


def export_codebook(
    *,
    user: User,
    survey: Survey,
    language: str | None = None,
    format: str = "html",
    responses: str = "complete",
) -> ExportDocument:
    """The codebook of the survey's exports (no answers in it) as html, csv, json or md.

    Raises ExportForbidden or ExportInvalid.
    """
    _require_export(user, survey)
    fmt = str(format or "").strip().lower()
    if fmt not in CODEBOOK_FORMATS:
        raise ExportInvalid(
            f"Unknown codebook format {str(format)[:20]!r}: choose html, csv, json or md."
        )
    options = export_options(survey=survey, format=Format.CSV, language=language, status=responses)
    _source, variables = export_variables(survey=survey, language=options.language)
    rows = export_responses(survey=survey, responses=options.responses).count()
    now = timezone.now()
    book = _codebook(survey, options, variables, rows=rows, when=now)
    text = render_codebook(book, format=fmt)  # type: ignore[arg-type]
    # A BOM lets spreadsheet programs read the CSV's Chinese as UTF-8.
    content = text.encode("utf-8-sig" if fmt == "csv" else "utf-8")
    return ExportDocument(
        filename=f"{_stem(survey, now, 'codebook')}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        content=content,
    )


# --- background jobs -----------------------------------------------------------------------------
@transaction.atomic
def export_request(
    *,
    user: User,
    survey: Survey,
    format: str,
    labels: bool | str = False,
    language: str | None = None,
    status: str = "complete",
) -> ExportJob:
    """Record an export job, audit it and queue its task on commit; returns the pending job.

    Raises ExportForbidden or ExportInvalid (unknown format, language not offered, ...).
    """
    _require_export(user, survey)
    options = export_options(
        survey=survey, format=format, labels=labels, language=language, status=status
    )
    rows = export_responses(survey=survey, responses=options.responses).count()
    job = ExportJob.objects.create(
        survey=survey,
        requested_by=user if user.is_authenticated else None,
        format=options.format,
        values=options.values,
        language=options.language,
        responses=options.responses,
        rows_total=rows,
    )
    audit_record(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        survey=survey,
        summary=(
            f"Requested a {options.format.upper()} export of {rows} responses "
            f"({options.values}, {options.language})"
        ),
        details={
            "event": "request",
            "job": job.pk,
            "format": options.format,
            "values": options.values,
            "language": options.language,
            "responses": options.responses,
            "rows": rows,
        },
    )
    transaction.on_commit(functools.partial(publish, EXPORT_RUN, job.pk))
    return job


def _claim(*, job_id: int, token: str) -> ExportJob | None:
    """Mark the job running under `token` if it is claimable, and return it.

    Claimable: pending; running under this same token (a Celery retry of this task); or running
    under a claim older than EXPORT_STALE_SECONDS (its worker died) with attempts left. One
    UPDATE ... WHERE makes the claim atomic, so a task delivered twice writes the file once.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    claimable = (
        Q(status=Status.PENDING)
        | Q(status=Status.RUNNING, claim_token=token)
        | Q(
            status=Status.RUNNING,
            claimed_at__lt=stale,
            attempts__lt=settings.EXPORT_MAX_ATTEMPTS,
        )
    )
    claimed = ExportJob.objects.filter(claimable, pk=job_id).update(
        status=Status.RUNNING,
        claim_token=token,
        claimed_at=now,
        started_at=now,
        attempts=F("attempts") + 1,
        rows_done=0,
        error="",
    )
    if not claimed:
        return None
    return ExportJob.objects.select_related("survey").get(pk=job_id)


def _update(job_id: int, token: str, **fields: Any) -> None:
    """Update the job while this run still holds its claim; raise _ClaimLost otherwise."""
    updated = ExportJob.objects.filter(pk=job_id, claim_token=token, status=Status.RUNNING).update(
        **fields
    )
    if not updated:
        raise _ClaimLost(job_id)


def _with_progress(
    rows: Iterable[list[Any]], *, job_id: int, token: str, every: int
) -> Iterator[list[Any]]:
    for done, row in enumerate(rows, start=1):
        yield row
        if done % every == 0:
            _update(job_id, token, rows_done=done)


def _export_dir() -> Path:
    directory = Path(settings.EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _zip(target: Path, data: Path, stem: str, codebook: Codebook) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        zf.write(data, arcname=data.name)
        zf.writestr(
            f"{stem}_codebook.csv", render_codebook(codebook, format="csv").encode("utf-8-sig")
        )
        zf.writestr(f"{stem}_codebook.html", render_codebook(codebook, format="html"))


def _write(job: ExportJob, token: str) -> None:
    survey = job.survey
    options = ExportOptions(job.format, job.labels, job.language, job.responses)
    responses = export_responses(survey=survey, responses=job.responses)
    total = responses.count()
    _update(job.pk, token, rows_total=total)
    source, variables = export_variables(survey=survey, language=job.language)
    codebook = _codebook(survey, options, variables, rows=total, when=job.created_at)
    rows = _with_progress(
        export_rows(survey=survey, variables=source, responses=job.responses),
        job_id=job.pk,
        token=token,
        every=max(1, settings.EXPORT_PROGRESS_EVERY),
    )
    directory = _export_dir()
    final_name = f"{job.pk}-{os.urandom(8).hex()}.{'xlsx' if job.format == Format.XLSX else 'zip'}"
    # Written under a temporary name in the same directory, then renamed: a download never sees
    # half a file, and a run that dies leaves only a .part file for the sweep to remove.
    part = directory / f".{job.pk}-{_SAFE_NAME.sub('', token)[:40]}.part"
    report = WriteReport()
    stem = _stem(survey, job.created_at, job.values)
    try:
        if job.format == Format.XLSX:
            write_xlsx(rows, variables, part, labels=job.labels, codebook=codebook, report=report)
        else:
            with tempfile.TemporaryDirectory(dir=directory, prefix=f".{job.pk}-") as scratch:
                data = Path(scratch) / f"{stem}.{job.format}"
                if job.format == Format.CSV:
                    with open(data, "wb") as out:
                        write_csv(rows, variables, out, labels=job.labels, bom=True, report=report)
                elif job.format == Format.SAV:
                    write_sav(rows, variables, data, codebook=codebook, report=report)
                else:
                    write_dta(rows, variables, data, codebook=codebook, report=report)
                _zip(part, data, stem, codebook.with_notes(*report.notes()))
        _fsync(part)
        final = directory / final_name
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    now = timezone.now()
    try:
        _update(
            job.pk,
            token,
            status=Status.DONE,
            file=final_name,
            size=final.stat().st_size,
            rows_done=report.rows,
            rows_total=report.rows,
            finished_at=now,
            expires_at=now + timedelta(hours=settings.EXPORT_EXPIRY_HOURS),
            claim_token="",
        )
    except BaseException:
        final.unlink(missing_ok=True)
        raise


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return (
            f"The export took longer than the time limit ({settings.EXPORT_TIME_LIMIT} s); "
            "try a smaller selection or ask an administrator to raise EXPOSURE_EXPORT_TIME_LIMIT."
        )
    if isinstance(exc, ExportError):
        return f"The data could not be written: {exc}"[:2000]
    return f"The export failed ({type(exc).__name__}: {exc})"[:2000]


def export_run(*, job_id: int, token: str) -> ExportJob | None:
    """Write job `job_id`'s file once, then mark it done (or failed with the error).

    A second delivery finds the job claimed or done and does nothing (returns None). Transient
    database errors propagate, so that the task retries under the same claim token.
    """
    job = _claim(job_id=job_id, token=token)
    if job is None:
        return None
    try:
        _write(job, token)
    except TRANSIENT_ERRORS:
        raise
    except _ClaimLost:
        logger.warning("export %s was taken over by another run; this run stops", job_id)
        return None
    except Exception as exc:  # anything else is not worth a retry: record it on the row
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id, claim_token=token, status=Status.RUNNING).update(
            status=Status.FAILED,
            error=_error_text(exc),
            finished_at=timezone.now(),
            claim_token="",
        )
    return ExportJob.objects.get(pk=job_id)


# --- download ------------------------------------------------------------------------------------
def export_jobs_for(*, user: User, survey: Survey | None = None) -> QuerySet[ExportJob]:
    """The export jobs `user` requested (of `survey`, when given), newest first."""
    if not user.is_authenticated:
        return ExportJob.objects.none()
    jobs = ExportJob.objects.filter(requested_by=user).select_related("survey")
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


# --- sweep ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportSweepResult:
    expired: int
    requeued: int
    failed: int
    files_removed: int


def _remove(path: Path) -> bool:
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    return True


def exports_sweep() -> ExportSweepResult:
    """Expire old exports (file deleted), re-queue lost or stuck jobs, remove stray files.

    A job running past EXPORT_STALE_SECONDS lost its worker: it is queued again while it has
    attempts left (EXPORT_MAX_ATTEMPTS), and marked failed after that.
    """
    now = timezone.now()
    directory = _export_dir()

    expired = 0
    for pk, name in ExportJob.objects.filter(status=Status.DONE, expires_at__lte=now).values_list(
        "pk", "file"
    ):
        # The row first, so that no new download starts; one already sending keeps its open file.
        if ExportJob.objects.filter(pk=pk, status=Status.DONE).update(
            status=Status.EXPIRED, file=""
        ):
            expired += 1
            if name:
                (directory / Path(name).name).unlink(missing_ok=True)

    stale = now - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    requeue: set[int] = set()
    failed = 0
    for pk, attempts, claimed_at in ExportJob.objects.filter(
        status=Status.RUNNING, claimed_at__lt=stale
    ).values_list("pk", "attempts", "claimed_at"):
        unchanged = ExportJob.objects.filter(pk=pk, status=Status.RUNNING, claimed_at=claimed_at)
        if attempts >= settings.EXPORT_MAX_ATTEMPTS:
            failed += unchanged.update(
                status=Status.FAILED,
                claim_token="",
                finished_at=now,
                error=(
                    f"The worker writing this export stopped {attempts} time(s) (lost, or over "
                    f"the time limit of {settings.EXPORT_TIME_LIMIT} s); request a smaller export "
                    "or ask an administrator."
                ),
            )
        elif unchanged.update(status=Status.PENDING, claim_token="", claimed_at=None):
            requeue.add(pk)

    lost_before = now - timedelta(seconds=settings.EXPORT_PENDING_GRACE)
    requeue.update(
        ExportJob.objects.filter(status=Status.PENDING, created_at__lt=lost_before).values_list(
            "pk", flat=True
        )
    )
    for pk in sorted(requeue):
        transaction.on_commit(functools.partial(publish, EXPORT_RUN, pk))

    # Temporary files of runs that died, and finished files no job refers to any more.
    kept = set(ExportJob.objects.filter(status=Status.DONE).values_list("file", flat=True))
    removed = 0
    for entry in directory.iterdir():
        try:
            old = entry.stat().st_mtime < stale.timestamp()
        except FileNotFoundError:
            continue
        if old and entry.name not in kept and _remove(entry):
            removed += 1
    return ExportSweepResult(expired, len(requeue), failed, removed)
