"""The PostgreSQL reader: a survey's responses as rows from plain columns, chunk by chunk.

No model instance or ORM converter per answer: PostgreSQL pivots each chunk's answers into one
row per response (`_answers_sql`), fetched whole with psycopg's C loaders; outside a transaction
the next chunk is read ahead on a second connection. `surveys.variables.reader.variable_rows`
calls it on PostgreSQL; it yields the same rows as the portable reader there, from the same rules
in `surveys.variables.sources`.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, connections

from surveys.analytics.layout import Column, Flag, value_sql
from surveys.analytics.selectors import StoreState, analytics_store_state
from surveys.core.databases import read_database
from surveys.models import AnalyticsTable, Answer, Question, Response, Survey
from surveys.variables.catalogue import SurveyVariable, provider_has_values, provider_of
from surveys.variables.sources import (
    ALL,
    ANSWER_SQL,
    QUESTION_ORIGINS,
    TIME_SPENT_SQL,
    AnswerMode,
    answer_mode,
    seconds_spent,
    survey_responses,
)

# Responses read per query by the PostgreSQL reader (and asked of variable providers at once):
# at most READ_CHUNK, fewer when they wrote long texts, so that a chunk holds about
# READ_CHUNK_TEXT characters of free text. Bounds memory (a few MB), not the file size.
READ_CHUNK = 2000
READ_CHUNK_FIRST = 250
READ_CHUNK_TEXT = 128 * 1024
# Chunks read ahead by a second connection while rows are built (0: read in turn).
READ_AHEAD = 1
# The interpreter's thread switch interval while a read-ahead runs, in seconds (Python's default
# is 0.005). The reading thread needs the interpreter lock briefly each time data of a chunk
# arrives from PostgreSQL, many times a chunk; at the default it waits up to 5 ms for the thread
# building rows each time, and the rows then wait for the chunk (bench/README.md, exports).
READ_SWITCH_INTERVAL = 0.0005
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


def read_plan(variables: Sequence[SurveyVariable]) -> _ReadPlan | None:
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
    # A blank text of a non-text variable is missing: NULL from the start.
    columns = "".join(
        f", NULLIF(r.{quote(column)}, '')"
        if kind in _TEXT_FIELDS and position not in plan.text
        else f", r.{quote(column)}"
        for position, column, kind in plan.columns
    )
    where_status = "" if status == ALL else " AND r.status = %s"
    # Time spent, summed by PostgreSQL where every page timing is a whole number.
    spent, lateral = "NULL, NULL", ""
    if plan.duration:
        spent, lateral = "t.pages, t.spent", f" CROSS JOIN {TIME_SPENT_SQL}"
    # Names come from the models, values are parameters.
    return (
        f"SELECT r.id, {spent}{columns} FROM {quote(Response._meta.db_table)} r{lateral} "  # noqa: S608  # nosec B608  # quoted model names, values are parameters
        # Test responses (the builder's test mode) are never data: Response.objects leaves them
        # out, and so does this reader.
        f"WHERE r.survey_id = %s AND r.id > %s AND NOT r.is_test{where_status} "
        "ORDER BY r.id LIMIT %s"
    )


@dataclass(frozen=True)
class _Cell:
    """One pivoted cell: its row position, its aggregate over the answers and its parameters;
    `held`, how the analytics store holds the same variable (its layout key), if it can."""

    position: int
    sql: str
    params: list[Any]
    held: tuple[Any, ...] | None


def _cells(plan: _ReadPlan) -> list[_Cell]:
    """Every question cell of the plan, aggregated over a chunk's answers aliased `a`.

    A (response, question, row) has one answer (a unique constraint), so each aggregate sees one
    value. A flag of a multiple choice is 1 or 0 once the question is answered, other flags 1
    when chosen; the "other" text is the question's non-blank text.
    """
    cells: list[_Cell] = []
    for question_id, question in plan.questions.items():
        for row_code, (position, mode) in question.cells.items():
            sql = f"max({ANSWER_SQL[mode]}) FILTER (WHERE a.question_id = %s AND a.row = %s)"
            held: tuple[Any, ...] | None = None
            if mode in (AnswerMode.CHOICE, AnswerMode.BOOLEAN):
                held = ("answer", question_id, row_code, mode == AnswerMode.BOOLEAN)
            cells.append(_Cell(position, sql, [question_id, row_code], held))
        zeros = set(question.flag_positions)
        for choice_code, position in question.flags.items():
            otherwise = "0" if position in zeros else "NULL"
            sql = (
                f"max(CASE WHEN a.choices ? %s THEN 1 ELSE {otherwise} END) "
                "FILTER (WHERE a.question_id = %s)"
            )
            held = ("flag", question_id, choice_code) if position in zeros else None
            cells.append(_Cell(position, sql, [choice_code, question_id], held))
        if question.other is not None:
            sql = "max(NULLIF(a.text, '')) FILTER (WHERE a.question_id = %s)"
            cells.append(_Cell(question.other, sql, [question_id], None))
    return cells


@dataclass(frozen=True)
class _Store:
    """The cells a read takes from the survey's analytics store, and the store they come from."""

    state: StoreState
    held: list[tuple[_Cell, str, list[Any]]]  # (cell, its value over the store row `s`, params)


def _store_for(survey: Survey, plan: _ReadPlan, status: str, using: str) -> _Store | None:
    """The store cells of a read of complete responses, when the survey's store holds any."""
    if status != Response.Status.COMPLETE:
        return None  # the store holds complete responses only
    state = analytics_store_state(survey_id=survey.pk, using=using)
    if state is None:
        return None
    held: list[tuple[_Cell, str, list[Any]]] = []
    for cell in _cells(plan):
        if cell.held is None:
            continue
        if cell.held[0] == "flag":
            found: Column | Flag | None = state.layout.flag(cell.held)
        else:
            found = state.layout.column(cell.held[:3], boolean=cell.held[3])
        if found is not None:
            held.append((cell, *value_sql(found, "s")))
    return _Store(state, held) if held else None


@dataclass(frozen=True)
class _ChunkSql:
    """A chunk's answers in one statement (`params` for the chunk's id range)."""

    sql: str
    before: list[Any]
    after: list[Any]
    positions: list[int]  # the row position of each value after the response id
    pivoted: int  # how many of them come from the answers (the rest from the store)
    joined: bool  # the store's rows are joined (the id range is bound twice)

    def params(self, first_id: int, last_id: int) -> list[Any]:
        if not self.joined:
            return [*self.before, first_id, last_id]
        return [*self.before, first_id, last_id, first_id, last_id, *self.after]


def _answers_sql(plan: _ReadPlan, store: _Store | None = None) -> _ChunkSql:
    """A chunk's answers pivoted by PostgreSQL: one row per response, one column per cell.

    A row is the response id, the pivoted cells, the cells taken from the store row `s` (NULL
    where the store has no row for the response), the store row's response id and, last, the
    characters of free text, which size the next chunk. With a store, the cells it holds are
    read from it rather than pivoted, and only while it is the build `store` describes.
    """
    held_positions = {cell.position for cell, _sql, _params in store.held} if store else set()
    pivoted = [cell for cell in _cells(plan) if cell.position not in held_positions]
    columns = [f"{cell.sql} AS c{n}" for n, cell in enumerate(pivoted)]
    columns.append("sum(length(a.text)) AS chars")
    params = [value for cell in pivoted for value in cell.params]
    table = connection.ops.quote_name(Answer._meta.db_table)
    # A range scan of the (response, question, row) index; answers of other surveys' or
    # statuses' responses inside the range are grouped too, and never read.
    pivot = (
        f"SELECT a.response_id, {', '.join(columns)} FROM {table} a "  # noqa: S608  # nosec B608  # model names and fixed SQL only, values are parameters
        "WHERE a.response_id BETWEEN %s AND %s GROUP BY a.response_id"
    )
    cells = [f"p.c{n}" for n in range(len(pivoted))]
    positions = [cell.position for cell in pivoted]
    if store is None:
        sql = f"SELECT p.response_id, {', '.join([*cells, 'NULL', 'p.chars'])} FROM ({pivot}) p"  # noqa: S608  # nosec B608  # fixed SQL only
        return _ChunkSql(sql, params, [], positions, len(pivoted), joined=False)
    quote = connection.ops.quote_name
    values = [sql for _cell, sql, _params in store.held]
    before = [value for _cell, _sql, cell_params in store.held for value in cell_params]
    sql = (
        f"SELECT p.response_id, {', '.join([*cells, *values, 's.response_id', 'p.chars'])} "  # noqa: S608  # nosec B608  # quoted names of the layout, values are parameters
        f"FROM ({pivot}) p LEFT JOIN {quote(store.state.table)} s "
        "ON s.response_id = p.response_id AND s.response_id BETWEEN %s AND %s AND ("
        f"SELECT t.built_at FROM {quote(AnalyticsTable._meta.db_table)} t WHERE t.id = %s) = %s"
    )
    positions += [cell.position for cell, _sql, _params in store.held]
    after = [store.state.id, store.state.built_at]
    return _ChunkSql(sql, [*before, *params], after, positions, len(pivoted), joined=True)


def _unheld_sql(store: _Store) -> tuple[str, list[Any]]:
    """The store's cells pivoted from the answers, for responses the store has no row for (a
    stale store, or a rebuild since the read began): run with [*params, ids]."""
    table = connection.ops.quote_name(Answer._meta.db_table)
    columns = ", ".join(cell.sql for cell, _sql, _params in store.held)
    params = [value for cell, _sql, _params in store.held for value in cell.params]
    return (
        f"SELECT a.response_id, {columns} FROM {table} a "  # noqa: S608  # nosec B608  # model names and fixed SQL only, values are parameters
        "WHERE a.response_id = ANY(%s) GROUP BY a.response_id",
        params,
    )


# A chunk as read: the responses' columns, their answers (one row per response, by id: the id,
# the pivoted cells, the store's cells, the store row's id and the characters of text; see
# `_answers_sql`), and the values of derived variables as each provider gave them.
_Chunk = tuple[list[tuple[Any, ...]], dict[int, tuple[Any, ...]], list[dict[int, dict[str, Any]]]]


def _fast_datetimes(cursor: Any, timezone_name: str) -> None:
    """Load timestamptz with psycopg's C loader on this cursor: the same aware UTC datetimes.

    Django's loader (registered on each cursor) is written in Python and only sets the time
    zone, which the C loader also does when the session's time zone is UTC (USE_TZ).
    """
    if not settings.USE_TZ or timezone_name != "UTC":
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
    # one parameter pair instead of some 2,000 ids for Django to bind and send. The providers
    # read their own tables on the primary, and so does this subquery.
    ids = (
        survey_responses(survey=survey, status=status)
        .filter(pk__range=(first_id, last_id))
        .values_list("pk", flat=True)
    )
    return [provider.values(survey, wanted, ids) for provider, wanted in plan.providers]


def _read_chunks(
    survey: Survey,
    plan: _ReadPlan,
    status: str,
    using: str,
    store: _Store | None,
    chunk_sql: _ChunkSql,
) -> Generator[_Chunk, None, None]:
    """Chunks of responses, their answers and derived values: all the reads of one export.

    Each chunk is fetched whole (psycopg's C loaders, no ORM converter or model instance per
    answer), so no query stays open while a slow client downloads. At most READ_CHUNK responses
    a chunk, fewer after responses with long texts, so that memory stays flat. With a `store`,
    the cells it holds come from its rows (`chunk_sql`, `_answers_sql` of the plan and the
    store), and from the answers for a response it has none for.
    """
    responses_sql = _responses_sql(plan, status)
    unheld_sql, unheld_params = _unheld_sql(store) if store is not None else ("", [])
    last_id = 0
    size = READ_CHUNK_FIRST
    while True:
        params: list[Any] = [survey.pk, last_id]
        if status != ALL:
            params.append(str(status))
        db = connections[using]
        with db.cursor() as cursor:
            _fast_datetimes(cursor, db.timezone_name)
            cursor.execute(responses_sql, [*params, size])
            found = cursor.fetchall()
            if not found:
                return
            cursor.execute(chunk_sql.sql, chunk_sql.params(found[0][0], found[-1][0]))
            # Each row whole, its response id first: no copy of its values.
            answers = {answer[0]: answer for answer in cursor.fetchall()}
            if store is not None:
                unheld = [r[0] for r in found if r[0] in answers and answers[r[0]][-2] is None]
                _fill_unheld(cursor, (unheld_sql, unheld_params), unheld, answers, chunk_sql)
        first_id, last_id = found[0][0], found[-1][0]
        derived = _derived_values(survey, plan, status, first_id, last_id)
        # Texts of other surveys' responses inside the id range count too: a little smaller
        # chunks at worst.
        text_chars = sum(filter(None, [answer[-1] for answer in answers.values()]))
        per_response = text_chars / len(found)
        size = max(1, min(READ_CHUNK, int(READ_CHUNK_TEXT / max(per_response, 1.0))))
        yield found, answers, derived


def _fill_unheld(
    cursor: Any,
    query: tuple[str, list[Any]],
    unheld: list[int],
    answers: dict[int, tuple[Any, ...]],
    chunk_sql: _ChunkSql,
) -> None:
    """The store's cells, from the answers, of the chunk's responses the store gave no row for
    (answered, yet not in the store: a stale store, or one rebuilt since the read began).

    The answers of a response withdrawn meanwhile are gone: its cells stay missing.
    """
    if not unheld:
        return
    sql, params = query
    cursor.execute(sql, [*params, unheld])
    pivoted = chunk_sql.pivoted
    for response_id, *values in cursor.fetchall():
        answer = answers[response_id]
        answers[response_id] = (*answer[: 1 + pivoted], *values, *answer[-2:])


# What `_read_ahead` runs in its thread: a generator, so that it can be closed early.
_Chunks = Callable[[], Generator[_Chunk, None, None]]
# What the reading thread hands over: (True, a chunk), then (False, None) at the end or
# (False, the exception it raised).
_Handed = tuple[bool, Any]


class _Switching:
    """The interpreter's switch interval at READ_SWITCH_INTERVAL (or below) while any read-ahead
    runs in this process, restored when the last one ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.before = sys.getswitchinterval()

    @contextlib.contextmanager
    def prompt(self) -> Iterator[None]:
        with self.lock:
            if not self.running:
                self.before = sys.getswitchinterval()
                sys.setswitchinterval(min(self.before, READ_SWITCH_INTERVAL))
            self.running += 1
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1
                if not self.running:
                    sys.setswitchinterval(self.before)


_SWITCHING = _Switching()


def _read_ahead(chunks: _Chunks, depth: int) -> Iterator[_Chunk]:
    """The chunks of `chunks()`, read by a thread with its own connection, `depth` ahead.

    PostgreSQL runs the next chunk's queries (and the client waits on them) while this thread
    turns the current chunk into rows. The bounded queue keeps memory flat; the reader stops and
    closes its connection when the rows are no longer wanted (a client gone, a time limit).
    Meanwhile threads switch every READ_SWITCH_INTERVAL.
    """
    items: queue.Queue[_Handed] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(
        target=_read_into,
        kwargs={"chunks": chunks, "items": items, "stop": stop},
        name="export-reader",
        daemon=True,
    )
    with _SWITCHING.prompt():
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


def _read_into(
    *,
    chunks: _Chunks,
    items: queue.Queue[_Handed],
    stop: threading.Event,
) -> None:
    """The reading thread of `_read_ahead`: every chunk, then the end or the error, queued."""
    try:
        with contextlib.closing(chunks()) as reader:
            for chunk in reader:
                if not _hand_over(item=(True, chunk), items=items, stop=stop):
                    return
        _hand_over(item=(False, None), items=items, stop=stop)
    except BaseException as exc:  # handed to the consumer, raised there as it was
        _hand_over(item=(False, exc), items=items, stop=stop)
    finally:
        connections.close_all()  # this thread's own connections, not the caller's


def _hand_over(*, item: _Handed, items: queue.Queue[_Handed], stop: threading.Event) -> bool:
    """Queue `item` once there is room; False if the consumer stopped first."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
        except queue.Full:
            continue
        return True
    return False


def _chunks(
    survey: Survey, plan: _ReadPlan, status: str, using: str, store: _Store | None
) -> tuple[_ChunkSql, Iterator[_Chunk]]:
    """The chunks' statement and the chunks, read ahead outside a transaction."""
    chunk_sql = _answers_sql(plan, store)
    # A transaction's uncommitted rows are visible to its own connection only: read in turn.
    if READ_AHEAD > 0 and not connection.in_atomic_block:
        chunks = _read_ahead(
            lambda: _read_chunks(survey, plan, status, using, store, chunk_sql), READ_AHEAD
        )
        return chunk_sql, chunks
    return chunk_sql, _read_chunks(survey, plan, status, using, store, chunk_sql)


def postgresql_rows(survey: Survey, plan: _ReadPlan, status: str) -> Iterator[list[Any]]:
    """Rows built from plain-column chunks (`_read_chunks`), one list per response in id order.

    Outside a transaction the chunks are read READ_AHEAD ahead by a second connection. Blank
    values of non-text variables are missing (None): made so by the SQL, where they arise.
    """
    plan = _providers_with_values(survey, plan)
    using = read_database()
    store = _store_for(survey, plan, status, using)
    chunk_sql, chunks = _chunks(survey, plan, status, using, store)
    # A row is taken, in position order, from its response's columns, its time spent, its
    # answers (pivoted, then from the store) and a None for the cells none of these fill.
    positions = chunk_sql.positions
    own = len(plan.columns)
    blank = own + 1 + 1 + len(positions) + 2
    take = [blank] * plan.width
    for index, (position, _column, _kind) in enumerate(plan.columns):
        take[position] = index
    for position in plan.duration:
        take[position] = own
    for index, position in enumerate(positions):
        take[position] = own + 2 + index  # after the time spent and the response id
    pick = itemgetter(*take, blank)  # a tuple whatever the width; the cell added is dropped
    unanswered = (None,) * (1 + len(positions) + 2)
    derive = [
        [(v.name, plan.by_name[v.name], v.kind != "text") for v in wanted]
        for _provider, wanted in plan.providers
    ]
    for found, answers, derived in chunks:
        seconds = _seconds(found) if plan.duration else [None] * len(found)
        answered = answers.get
        rows = {
            response[0]: [*pick((*response[3:], spent, *answered(response[0], unanswered), None))]
            for response, spent in zip(found, seconds, strict=True)
        }
        _chunk_derived(derived, derive, rows)
        del found, answers, derived
        for row in rows.values():  # in id order: a dict keeps the order of the chunk
            row.pop()
            yield row


def _providers_with_values(survey: Survey, plan: _ReadPlan) -> _ReadPlan:
    """The plan without the providers that have no value for any response of the survey.

    Asked once per read instead of a query per chunk that finds nothing (the classifier's before
    anything is coded): their cells stay missing. A value a provider gains while the chunks are
    read shows from the next read on, as one gained after a chunk was read does anyway.
    """
    providers = [
        (provider, wanted)
        for provider, wanted in plan.providers
        if provider_has_values(provider, survey, wanted)
    ]
    return plan if len(providers) == len(plan.providers) else replace(plan, providers=providers)


def _seconds(found: list[tuple[Any, ...]]) -> list[Any]:
    """The time spent of each response read: summed by PostgreSQL (third), or its page timings
    (second, as JSON text) read by `seconds_spent` where one is not a whole number."""
    return [
        spent
        if pages is None
        else seconds_spent(json.loads(pages) if isinstance(pages, str) else pages)
        for _id, pages, spent, *_values in found
    ]


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
