"""One row reader: a survey's responses as rows of variable values, in flat memory.

`variable_rows` is the reader everyone calls for a survey's responses of one status (exports,
the dashboard, benchmarks); `response_rows` reads any query of responses (the statistics API,
raw-data pages). On PostgreSQL `variable_rows` reads plain columns chunk by chunk (no model
instance or ORM converter per answer, the next chunk read ahead on a second connection);
elsewhere, or with `portable=True`, it reads through `response_rows`. Both paths take how an
answer becomes a value from `answer_mode` and `answer_value`, and time spent from
`surveys.models.time_spent`, so they yield the same rows (tests/exports/test_reader.py).
"""

from __future__ import annotations

import contextlib
import enum
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import QuerySet

from surveys.models import Answer, Question, Response, Survey, time_spent
from surveys.variables.catalogue import SurveyVariable, provider_of

ALL = "all"  # the status that selects every response, complete or not
QUESTION_ORIGINS = frozenset({"answer", "flag", "other"})
# Responses read per query by the portable reader when called through `variable_rows`.
PORTABLE_CHUNK = 250
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
_PLAIN_FIELDS = _DATETIME_FIELDS | _TEXT_FIELDS | _INT_FIELDS | {"BooleanField"}


# --- how an answer becomes a value (both paths) ---------------------------------------------------
class AnswerMode(enum.IntEnum):
    """Which column of an answer holds a variable's value."""

    CHOICE = 0
    NUMBER = 1
    TEXT = 2
    BOOLEAN = 3


def answer_mode(variable: SurveyVariable, question_type: str) -> AnswerMode:
    """How the answers of a question of `question_type` fill `variable` (an "answer" source)."""
    if question_type == Question.Type.YES_NO:
        return AnswerMode.BOOLEAN
    if variable.kind == "numeric":
        return AnswerMode.NUMBER
    if variable.kind == "text":
        return AnswerMode.TEXT
    return AnswerMode.CHOICE


def answer_value(
    mode: AnswerMode, choice: str, number: Any, boolean: bool | None, text: str
) -> Any:
    """The value of one stored answer in a column read as `mode`; yes/no as "1"/"0"."""
    if mode == AnswerMode.BOOLEAN:
        return None if boolean is None else ("1" if boolean else "0")
    if mode == AnswerMode.NUMBER:
        return number
    if mode == AnswerMode.TEXT:
        return text
    return choice


def seconds_spent(page_seconds: Any) -> Decimal | None:
    """The duration variable's value: time spent as a Decimal (a scale number), or None."""
    seconds = time_spent(page_seconds)
    return None if seconds is None else Decimal(seconds)


def survey_responses(*, survey: Survey, status: str = "complete") -> QuerySet[Response]:
    """The survey's responses of `status` ("complete", "in_progress", or "all")."""
    queryset = Response.objects.filter(survey=survey)
    if status != ALL:
        queryset = queryset.filter(status=status)
    return queryset


def variable_rows(
    *,
    survey: Survey,
    variables: Sequence[SurveyVariable],
    status: str = "complete",
    portable: bool = False,
) -> Iterator[list[Any]]:
    """Raw values aligned with `variables`, one list per response of `status`, in id order.

    On PostgreSQL plain queries read the chunks; elsewhere, or with `portable`, `response_rows`
    does. Both yield the same rows; blank values of non-text variables are missing (None).
    """
    plan = None
    if not portable and connection.vendor == "postgresql":
        plan = _read_plan(variables)
    if plan is not None:
        yield from _postgresql_rows(survey, plan, status)
        return
    queryset = survey_responses(survey=survey, status=status)
    # An empty string is no category, number or time: it is a missing value.
    blank_is_missing = [i for i, v in enumerate(variables) if v.kind != "text"]
    for _response, values in response_rows(
        survey=survey, variables=variables, responses=queryset, chunk_size=PORTABLE_CHUNK
    ):
        for i in blank_is_missing:
            if values[i] == "":
                values[i] = None
        yield values


# --- the portable reader (any database, any query of responses) ----------------------------------
@dataclass
class _PortablePlan:
    """Where the portable reader puts each value, worked out once per call."""

    variables: Sequence[SurveyVariable]
    by_source: dict[tuple[Any, ...], int]
    by_name: dict[str, int]
    question_ids: set[int]
    modes: dict[int, AnswerMode]  # position -> how its answer becomes a value
    multi: set[int]  # multiple-choice questions
    flags: list[tuple[int, int]]  # (position, question id) of multi_flag columns
    from_response: list[tuple[int, str]]  # (position, attribute)
    providers: dict[str, tuple[Any, list[SurveyVariable]]]


def _portable_plan(variables: Sequence[SurveyVariable]) -> _PortablePlan:
    question_ids = {v.source[1] for v in variables if v.source and v.source[0] in QUESTION_ORIGINS}
    types = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "type"))
    modes = {
        i: answer_mode(v, types.get(v.source[1], ""))
        for i, v in enumerate(variables)
        if v.source and v.source[0] == "answer"
    }
    providers: dict[str, tuple[Any, list[SurveyVariable]]] = {}
    for variable in variables:
        provider = provider_of(variable)
        if provider is not None:
            providers.setdefault(provider.name, (provider, []))[1].append(variable)
    return _PortablePlan(
        variables=variables,
        by_source={v.source: i for i, v in enumerate(variables)},
        by_name={v.name: i for i, v in enumerate(variables)},
        question_ids=question_ids,
        modes=modes,
        multi={pk for pk, kind in types.items() if kind == Question.Type.MULTIPLE_CHOICE},
        flags=[
            (i, v.source[1])
            for i, v in enumerate(variables)
            if v.kind == "multi_flag" and v.source and v.source[0] == "flag"
        ],
        from_response=[
            (i, v.source[1])
            for i, v in enumerate(variables)
            if v.source and v.source[0] == "response"
        ],
        providers=providers,
    )


def response_rows(
    *,
    survey: Survey,
    variables: Sequence[SurveyVariable],
    responses: QuerySet[Response],
    chunk_size: int = 2000,
) -> Iterator[tuple[Response, list[Any]]]:
    """Yield (response, values aligned with `variables`) in constant memory, chunk by chunk."""
    plan = _portable_plan(variables)
    last_id = 0
    base = responses.order_by("pk")
    while True:
        chunk = list(base.filter(pk__gt=last_id)[:chunk_size])
        if not chunk:
            return
        last_id = chunk[-1].pk
        rows: dict[int, list[Any]] = {r.pk: [None] * len(variables) for r in chunk}
        answered_multi = _fill_answers(plan, rows)
        _fill_responses(plan, chunk, rows, answered_multi)
        _fill_provided(plan, survey, [r.pk for r in chunk], rows)
        for response in chunk:
            yield response, rows[response.pk]


def _fill_answers(plan: _PortablePlan, rows: dict[int, list[Any]]) -> set[tuple[int, int]]:
    """Put the chunk's answers in their rows; returns the multiple choices answered."""
    # Plain tuples, not model instances: this loop runs once per stored answer.
    answers = Answer.objects.filter(
        response_id__in=list(rows), question_id__in=plan.question_ids
    ).values_list(
        "response_id", "question_id", "row", "choice", "choices", "number", "boolean", "text"
    )
    by_source = plan.by_source
    answered_multi: set[tuple[int, int]] = set()
    for (
        response_id,
        question_id,
        row_code,
        choice,
        choices,
        number,
        boolean,
        text,
    ) in answers.iterator(chunk_size=5000):
        row = rows[response_id]
        if question_id in plan.multi:
            answered_multi.add((response_id, question_id))
        position = by_source.get(("answer", question_id, row_code))
        if position is not None:
            row[position] = answer_value(plan.modes[position], choice, number, boolean, text)
        for code in choices or ():
            flag = by_source.get(("flag", question_id, code))
            if flag is not None:
                row[flag] = 1
        other = by_source.get(("other", question_id))
        if other is not None and text:
            row[other] = text
    return answered_multi


def _fill_responses(
    plan: _PortablePlan,
    chunk: list[Response],
    rows: dict[int, list[Any]],
    answered_multi: set[tuple[int, int]],
) -> None:
    for response in chunk:
        row = rows[response.pk]
        # A multiple-choice question answered without an option is "not selected", not missing.
        for i, question_id in plan.flags:
            if row[i] is None and (response.pk, question_id) in answered_multi:
                row[i] = 0
        for i, attribute in plan.from_response:
            row[i] = _response_value(response, attribute)


def _response_value(response: Response, attribute: str) -> Any:
    if attribute == "duration":
        return seconds_spent(response.page_seconds)
    return getattr(response, attribute)


def _fill_provided(
    plan: _PortablePlan, survey: Survey, ids: list[int], rows: dict[int, list[Any]]
) -> None:
    for provider, wanted in plan.providers.values():
        for response_id, values in provider.values(survey, wanted, ids).items():
            row = rows.get(response_id)
            if row is None:
                continue
            for variable in wanted:
                if variable.name in values:
                    row[plan.by_name[variable.name]] = values[variable.name]


# --- the PostgreSQL reader (plain columns, chunk by chunk) ----------------------------------------
@dataclass
class _QuestionPlan:
    """Where one question's answers go in a row: positions by matrix row, flags, other text."""

    cells: dict[str, tuple[int, AnswerMode]]  # row code -> (position, mode)
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


class _NotPlain(Exception):
    """A variable comes from a source only the ORM can read."""


def _response_column(attribute: str) -> tuple[str, str]:
    """(column, Django field type) of a plain Response field; raises _NotPlain otherwise."""
    try:
        field = Response._meta.get_field(attribute)
    except FieldDoesNotExist:  # a computed attribute: the ORM reader handles it
        raise _NotPlain(attribute) from None
    kind = field.get_internal_type()
    column = getattr(field, "column", None)
    if not column or kind not in _PLAIN_FIELDS:
        raise _NotPlain(attribute)
    return column, kind


def _plan_question(
    plan: _QuestionPlan, position: int, variable: SurveyVariable, question_type: str
) -> None:
    origin, source = variable.source[0], variable.source
    if origin == "answer":
        plan.cells[source[2]] = (position, answer_mode(variable, question_type))
    elif origin == "flag":
        if variable.kind == "multi_flag" and question_type == Question.Type.MULTIPLE_CHOICE:
            plan.flag_positions.append(position)
        plan.flags[source[2]] = position
    else:
        plan.other = position


def _read_plan(variables: Sequence[SurveyVariable]) -> _ReadPlan | None:
    """The plan for `variables`, or None when one comes from a source only the ORM can read."""
    question_ids = {v.source[1] for v in variables if v.source and v.source[0] in QUESTION_ORIGINS}
    types = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "type"))
    plan = _ReadPlan(
        width=len(variables),
        columns=[],
        duration=[],
        questions={pk: _QuestionPlan({}, {}, [], None) for pk in types},
        providers=[],
        by_name={v.name: i for i, v in enumerate(variables)},
        text={i for i, v in enumerate(variables) if v.kind == "text"},
    )
    providers: dict[str, tuple[Any, list[SurveyVariable]]] = {}
    for position, variable in enumerate(variables):
        origin = variable.source[0] if variable.source else ""
        if origin == "response" and variable.source[1] == "duration":
            plan.duration.append(position)
        elif origin == "response":
            try:
                plan.columns.append((position, *_response_column(variable.source[1])))
            except _NotPlain:
                return None
        elif origin in QUESTION_ORIGINS:
            question = plan.questions.get(variable.source[1])
            # Not a question of this database: the ORM reader ignores it too.
            if question is not None:
                _plan_question(question, position, variable, types[variable.source[1]])
        elif (provider := provider_of(variable)) is not None:
            providers.setdefault(origin, (provider, []))[1].append(variable)
    plan.providers = list(providers.values())
    return plan


def _responses_sql(plan: _ReadPlan, status: str) -> str:
    quote = connection.ops.quote_name
    columns = "".join(f", r.{quote(column)}" for _p, column, _k in plan.columns)
    where_status = "" if status == ALL else " AND r.status = %s"
    # Names come from the models, values are parameters.
    return (
        f"SELECT r.id, r.page_seconds{columns} FROM {quote(Response._meta.db_table)} r "  # noqa: S608  # nosec B608  # quoted model names, values are parameters
        f"WHERE r.survey_id = %s AND r.id > %s{where_status} ORDER BY r.id LIMIT %s"
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


def _derived_values(
    survey: Survey, plan: _ReadPlan, status: str, first_id: int, last_id: int
) -> list[dict[int, dict[str, Any]]]:
    if not plan.providers:
        return []
    # The chunk's ids as a subquery (the same responses: the same filter over their id range):
    # one parameter pair instead of some 2,000 ids for Django to bind and send.
    ids = (
        survey_responses(survey=survey, status=status)
        .filter(pk__range=(first_id, last_id))
        .values_list("pk", flat=True)
    )
    return [
        provider.values(survey, wanted, ids)  # type: ignore[arg-type]
        for provider, wanted in plan.providers
    ]


def _read_chunks(survey: Survey, plan: _ReadPlan, status: str) -> Iterator[_Chunk]:
    """Chunks of responses, their answers and derived values: all the reads of one export.

    Each chunk is fetched whole (psycopg's C loaders, no ORM converter or model instance per
    answer), so no query stays open while a slow client downloads. At most READ_CHUNK responses
    a chunk, fewer after responses with long texts, so that memory stays flat.
    """
    responses_sql, answers_sql = _responses_sql(plan, status), _answers_sql()
    last_id = 0
    size = READ_CHUNK_FIRST
    while True:
        params: list[Any] = [survey.pk, last_id]
        if status != ALL:
            params.append(str(status))
        with connection.cursor() as cursor:
            _fast_datetimes(cursor)
            cursor.execute(responses_sql, [*params, size])
            found = cursor.fetchall()
            if not found:
                return
            cursor.execute(answers_sql, [found[0][0], found[-1][0]])
            answers = cursor.fetchall()
        first_id, last_id = found[0][0], found[-1][0]
        derived = _derived_values(survey, plan, status, first_id, last_id)
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


def _chunks(survey: Survey, plan: _ReadPlan, status: str) -> Iterator[_Chunk]:
    # A transaction's uncommitted rows are visible to its own connection only: read in turn.
    if READ_AHEAD > 0 and not connection.in_atomic_block:
        return _read_ahead(lambda: _read_chunks(survey, plan, status), READ_AHEAD)
    return _read_chunks(survey, plan, status)


def _postgresql_rows(survey: Survey, plan: _ReadPlan, status: str) -> Iterator[list[Any]]:
    """Rows built from plain-column chunks (`_read_chunks`), one list per response in id order.

    Outside a transaction the chunks are read READ_AHEAD ahead by a second connection. Blank
    values of non-text variables are made missing (None) here, where they arise.
    """
    columns = [(position, position not in plan.text) for position, _c, _k in plan.columns]
    questions = {
        pk: (q.cells, q.flags, q.flag_positions, q.other) for pk, q in plan.questions.items()
    }
    derive = [
        [(v.name, plan.by_name[v.name], v.kind != "text") for v in wanted]
        for _provider, wanted in plan.providers
    ]
    for found, answers, derived in _chunks(survey, plan, status):
        rows, order = _chunk_rows(found, plan.width, columns, plan.duration)
        _chunk_answers(answers, rows, questions)
        _chunk_derived(derived, derive, rows)
        del found, answers, rows, derived
        yield from order


def _chunk_rows(
    found: list[tuple[Any, ...]],
    width: int,
    columns: list[tuple[int, bool]],
    duration: list[int],
) -> tuple[dict[int, list[Any]], list[list[Any]]]:
    """One row per response read, its own columns filled in; by id and in order."""
    rows: dict[int, list[Any]] = {}
    order: list[list[Any]] = []
    for response_id, pages, *values in found:
        row: list[Any] = [None] * width
        for (position, blank_is_missing), value in zip(columns, values, strict=True):
            row[position] = None if blank_is_missing and value == "" else value
        if duration:
            seconds = seconds_spent(json.loads(pages) if isinstance(pages, str) else pages)
            for position in duration:
                row[position] = seconds
        rows[response_id] = row
        order.append(row)
    return rows, order


def _chunk_answers(
    answers: list[tuple[Any, ...]],
    rows: dict[int, list[Any]],
    questions: dict[int, tuple[Any, ...]],
) -> None:
    """Put a chunk's answers into their rows (answers of responses not read are skipped)."""
    current: Any = None
    row: list[Any] | None = None
    text_mode = AnswerMode.TEXT
    for response_id, question_id, row_code, choice, choices, number, boolean, text in answers:
        if response_id != current:  # the index scan returns a response's answers together
            current, row = response_id, rows.get(response_id)
        question = questions.get(question_id)
        if row is None or question is None:
            continue
        cells, flags, flag_positions, other = question
        cell = cells.get(row_code)
        if cell is not None:
            position, mode = cell
            value = answer_value(mode, choice, number, boolean, text)
            row[position] = None if value == "" and mode != text_mode else value
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


def _chunk_derived(
    derived: list[dict[int, dict[str, Any]]],
    derive: list[list[tuple[str, int, bool]]],
    rows: dict[int, list[Any]],
) -> None:
    for values_by_response, wanted in zip(derived, derive, strict=True):
        for response_id, values in values_by_response.items():
            row = rows.get(response_id)
            if row is None:
                continue
            for name, position, blank_is_missing in wanted:
                if name in values:
                    value = values[name]
                    row[position] = None if blank_is_missing and value == "" else value
