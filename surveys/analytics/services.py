"""Writing the analytics store: built from the answers, kept up by the paths that write them.

A survey's store holds its complete, non-test responses, one row each (`layout`). It is built
(or rebuilt) from the answers in one statement, and then kept by the respondent's services in
the transaction that changes a response: a submitted response's row is written, a withdrawn
one's deleted. Complete responses are not edited afterwards, so page saves of responses in
progress never touch it. A store that meets a code its layout lacks (a choice added since it was
built), or whose survey gained questions, rows or choices, is marked stale and rebuilt by a task;
statistics read the answers meanwhile.

On PostgreSQL a rebuild holds the store's row FOR UPDATE and a write FOR SHARE, so writes of
different responses never wait for each other, and none is lost to a rebuild running beside it.

The store's row, not the broker, records that a rebuild is owed (`stale`, `stale_since`): a
periodic sweep queues again the rebuild of a store stale for longer than a grace period, and the
first build of an open survey's missing store (`analytics_sweep`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import DateTimeField, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.tasks import ANALYTICS_REBUILD, publish
from surveys import reference
from surveys.analytics.layout import (
    Layout,
    QuestionSpec,
    build_statement,
    create_statements,
    delete_statement,
    drop_statement,
    insert_statement,
    layout_for,
    row_values,
)
from surveys.models import (
    AnalyticsChange,
    AnalyticsTable,
    Answer,
    Question,
    Response,
    StatisticsVersion,
    Survey,
)

logger = logging.getLogger(__name__)


def statistics_version_bump(
    *, survey_ids: Iterable[int], store_changes: Iterable[tuple[int, int]] = ()
) -> None:
    """Move these surveys' data versions on, in the caller's transaction (cached statistics of the
    old versions are then never read again). Call it last in the transaction: the rows it locks
    are held until commit.

    `store_changes` are the (survey id, response id) whose store rows the transaction wrote or
    deleted: each is recorded with the version it moved its survey to (`AnalyticsChange`), for the
    processes that hold the store's columns in memory.
    """
    ids = sorted({int(pk) for pk in survey_ids})  # one lock order for every writer
    if not ids:
        return
    table = connection.ops.quote_name(StatisticsVersion._meta.db_table)
    rows = ", ".join(["(%s, 1)"] * len(ids))
    with connection.cursor() as cursor:
        # One statement, the same on PostgreSQL and SQLite: a survey's first change creates its row.
        cursor.execute(
            f"INSERT INTO {table} (survey_id, version) VALUES {rows} "  # noqa: S608  # nosec B608  quoted identifier, values as parameters
            f"ON CONFLICT (survey_id) DO UPDATE SET version = {table}.version + 1",
            ids,
        )
        changes = sorted({(int(survey), int(response)) for survey, response in store_changes})
        if changes:
            # The version just written, read back in this transaction (the row is held).
            changed = connection.ops.quote_name(AnalyticsChange._meta.db_table)
            selects = " UNION ALL ".join(
                [f"SELECT survey_id, version, %s FROM {table} WHERE survey_id = %s"]  # noqa: S608  # nosec B608  quoted identifier
                * len(changes)
            )
            cursor.execute(
                f"INSERT INTO {changed} (survey_id, version, response_id) {selects}",  # nosec B608  quoted identifiers, values as parameters
                [value for survey, response in changes for value in (response, survey)],
            )


def table_name(survey: Survey) -> str:
    """The store's table: one per survey, named by its id."""
    return f"surveys_analytics_{survey.pk}"


def _question_codes(question: Question) -> tuple[str, ...]:
    if question.type == Question.Type.OCCUPATION:
        return (*(o.isco for o in reference.occupations()), reference.OTHER)
    if question.type == Question.Type.COUNTRY:
        return tuple(code for code, _name in reference.countries("en"))
    return tuple(c.code for c in question.choices.all())


def survey_layout(*, survey: Survey) -> Layout:
    """The layout the survey's questions call for now (codes of its choices and references)."""
    questions = (
        Question.objects.filter(survey=survey)
        .order_by("page__position", "position")
        .prefetch_related("choices", "rows")
    )
    specs = [
        QuestionSpec(
            id=q.pk,
            type=q.type,
            rows=tuple(r.code for r in q.rows.all()),
            codes=_question_codes(q),
        )
        for q in questions
    ]
    return layout_for(table_name(survey), specs)


def _codes_in_answers(survey: Survey, layout: Layout) -> dict[str, list[str]]:
    """{column name: codes the answers hold}, so that a build knows every code it meets."""
    columns = {(c.question, c.row): c.name for c in layout.columns if c.mode == "choice"}
    if not columns:
        return {}
    found: dict[str, list[str]] = {}
    rows = (
        Answer.objects.filter(question_id__in={q for q, _ in columns}, question__survey=survey)
        .exclude(choice="")
        .values_list("question_id", "row", "choice")
        .distinct()
        .order_by()
    )
    for question_id, row, choice in rows:
        name = columns.get((question_id, row))
        if name is not None:
            found.setdefault(name, []).append(choice)
    return {name: sorted(codes) for name, codes in found.items()}


@transaction.atomic
def analytics_rebuild(*, survey: Survey, if_stale: bool = False) -> AnalyticsTable:
    """(Re)build the survey's store from its answers and clear `stale`; returns its row. With
    `if_stale`, a store that is not stale (rebuilt since it was asked for) is left as it is.
    """
    store, _ = AnalyticsTable.objects.get_or_create(
        survey=survey, defaults={"table": table_name(survey), "stale": True}
    )
    store = AnalyticsTable.objects.select_for_update().get(pk=store.pk)
    if if_stale and not store.stale:
        # A second delivery, or the sweep's copy of a rebuild that did arrive: the writes have
        # kept the store since it was built, so there is nothing to do.
        return store
    layout = survey_layout(survey=survey)
    layout = layout.with_codes(_codes_in_answers(survey, layout))
    vendor = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute(drop_statement(store.table))
        if store.table != layout.table:
            cursor.execute(drop_statement(layout.table))
        for statement in create_statements(layout, vendor):
            cursor.execute(statement)
        sql, params = build_statement(layout, vendor, survey_id=survey.pk)
        cursor.execute(sql, params)
        if vendor == "postgresql":
            cursor.execute(f'ANALYZE "{layout.table}"')
    store.table = layout.table
    store.layout = layout.as_json()
    store.stale = False
    store.stale_since = None
    store.built_at = timezone.now()
    store.save()
    # Whoever holds the store's columns reloads them (the build time changed): the rows changed
    # before are in the new table.
    AnalyticsChange.objects.filter(survey=survey).delete()
    statistics_version_bump(survey_ids=[survey.pk])
    return store


def analytics_rebuild_all() -> int:
    """Rebuild the store of every survey; returns how many."""
    surveys = list(Survey.objects.order_by("pk"))
    for survey in surveys:
        analytics_rebuild(survey=survey)
    return len(surveys)


def _locked_store(survey_id: int) -> AnalyticsTable | None:
    """The survey's store row, held FOR SHARE on PostgreSQL (a rebuild waits, writes do not)."""
    if connection.vendor == "postgresql":
        found = list(
            AnalyticsTable.objects.raw(
                "SELECT * FROM surveys_analyticstable WHERE survey_id = %s FOR SHARE",
                [survey_id],
            )
        )
        return found[0] if found else None
    return AnalyticsTable.objects.filter(survey_id=survey_id).first()


def _mark_stale(store: AnalyticsTable, reason: str) -> None:
    logger.info("analytics store %s is stale (%s); rebuilding", store.table, reason)
    # Since the first time, should another writer have marked it already: the sweep's grace
    # counts from there.
    since = Coalesce("stale_since", Value(timezone.now(), output_field=DateTimeField()))
    AnalyticsTable.objects.filter(pk=store.pk).update(stale=True, stale_since=since)
    transaction.on_commit(functools.partial(publish, ANALYTICS_REBUILD, store.survey_id))


def analytics_response_store(*, response: Response) -> None:
    """Write `response`'s row (replacing any) when it is complete and not a test; in the caller's
    transaction. A survey without a store, or with a stale one, is left to its next rebuild.
    """
    if response.is_test or response.status != Response.Status.COMPLETE:
        return
    written = _store_row(response)
    # The survey's statistics change whether or not it has a store.
    statistics_version_bump(
        survey_ids=[response.survey_id],
        store_changes=[(response.survey_id, response.pk)] if written else (),
    )


def _store_row(response: Response) -> bool:
    store = _locked_store(response.survey_id)
    if store is None or store.stale:
        return False
    layout = Layout.from_json(store.layout)
    answers = {(a.question_id, a.row): a for a in Answer.objects.filter(response_id=response.pk)}
    try:
        values = row_values(layout, answers)
    except KeyError as missing:
        _mark_stale(store, f"a code its column {missing} lacks")
        return False
    assert response.submitted_at is not None  # a check constraint of complete responses
    submitted = connection.ops.adapt_datetimefield_value(response.submitted_at)
    params: list[Any] = [response.pk, response.language, submitted, *values]
    with connection.cursor() as cursor:
        cursor.execute(insert_statement(layout), params)
    return True


def analytics_response_remove(*, survey_id: int, response_id: int) -> bool:
    """Delete a response's row (withdrawn), in the caller's transaction; the caller then deletes
    the response and moves the data version on last (`statistics_version_bump`, with this
    response among its `store_changes` when this returns True: the store held a row to delete).
    """
    store = _locked_store(survey_id)
    # A stale store is rebuilt from the answers, without this response; its table may not even
    # exist yet (a missing store the sweep queued for its first build).
    if store is None or store.stale:
        return False
    with connection.cursor() as cursor:
        cursor.execute(delete_statement(Layout.from_json(store.layout)), [response_id])
        return cursor.rowcount > 0


def analytics_survey_edited(*, survey: Survey) -> bool:
    """After questions, rows or choices changed: when the store lacks a column or a code the
    survey now has, mark it stale and rebuild it on commit. Returns whether it did.
    """
    store = AnalyticsTable.objects.filter(survey=survey).first()
    if store is None or store.stale:
        return False
    if Layout.from_json(store.layout).covers(survey_layout(survey=survey)):
        return False
    _mark_stale(store, "its survey changed")
    return True


def analytics_drop(*, survey: Survey) -> None:
    """Drop the survey's store (the survey is being deleted); its row goes with the survey."""
    store = AnalyticsTable.objects.filter(survey=survey).first()
    if store is not None:
        with connection.cursor() as cursor:
            cursor.execute(drop_statement(store.table))


def analytics_ensure(*, survey: Survey) -> None:
    """Build the survey's store unless it has one (a survey being opened)."""
    if not AnalyticsTable.objects.filter(survey=survey).exists():
        analytics_rebuild(survey=survey)


@dataclass(frozen=True)
class AnalyticsSweepResult:
    requeued: int  # stale stores whose rebuild was queued again
    started: int  # open surveys without a store: one created, stale and empty, and its build queued
    busy: int  # overdue stale stores left alone: their rebuild is running


def analytics_sweep(*, grace: timedelta | None = None) -> AnalyticsSweepResult:
    """Queue again the rebuild of every store stale for longer than `grace` (default:
    settings.ANALYTICS_STALE_GRACE) unless it is being rebuilt, and the first build of every open
    survey without a store; never waits for a rebuild. Returns the counts.
    """
    grace = timedelta(seconds=settings.ANALYTICS_STALE_GRACE) if grace is None else grace
    now = timezone.now()
    with transaction.atomic():
        overdue = AnalyticsTable.objects.filter(stale=True).filter(
            # No time: stale before stale_since was recorded, so overdue.
            Q(stale_since__isnull=True) | Q(stale_since__lt=now - grace)
        )
        requeue = _not_being_rebuilt(overdue)
        busy = max(overdue.count() - len(requeue), 0)
        started = _missing_stores_start(now)
        for survey_id in [*requeue, *started]:
            transaction.on_commit(functools.partial(publish, ANALYTICS_REBUILD, survey_id))
    if requeue or started or busy:
        logger.warning(
            "analytics sweep: rebuild queued again for the stale stores of surveys %s, first "
            "build queued for open surveys %s; stores of surveys being rebuilt left alone: %d",
            requeue,
            started,
            busy,
        )
    return AnalyticsSweepResult(requeued=len(requeue), started=len(started), busy=busy)


def _not_being_rebuilt(stores: QuerySet[AnalyticsTable]) -> list[int]:
    """The survey ids of `stores` (a queryset) whose row no rebuild holds, without waiting."""
    if connection.vendor != "postgresql":  # SQLite: a rebuild holds the whole database
        return sorted(stores.values_list("survey_id", flat=True))
    sql, params = stores.values("survey_id").query.sql_with_params()
    # FOR SHARE rather than FOR UPDATE: submissions hold the row FOR SHARE too, and a busy
    # survey's store must not be skipped for them; only a rebuild's FOR UPDATE (or a writer
    # marking it stale right now) makes the sweep pass it by.
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY 1 FOR SHARE SKIP LOCKED", params)
        return [row[0] for row in cursor.fetchall()]


def _missing_stores_start(now: datetime) -> list[int]:
    """Create a stale, empty store row for each open survey without one; their survey ids.

    A row rather than only a queued build: the build then holds it FOR UPDATE, so the next
    sweeps see it in progress, and a build lost on the way is queued again after the grace like
    any other. Its table is made by the build (`analytics_rebuild`).
    """
    surveys = Survey.objects.filter(status=Survey.Status.OPEN, analytics__isnull=True)
    started: list[int] = []
    for survey in surveys.order_by("pk").only("pk"):
        try:
            with _lock_wait_bounded(), transaction.atomic():
                AnalyticsTable.objects.create(
                    survey=survey, table=table_name(survey), stale=True, stale_since=now
                )
        except IntegrityError:
            continue  # built since it was read
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            continue  # its first build is running (statistics_rebuild, generate_responses)
        started.append(survey.pk)
    return started


_LOCK_NOT_AVAILABLE = "55P03"


@contextmanager
def _lock_wait_bounded() -> Iterator[None]:
    """On PostgreSQL, give up a lock after a second (then LockNotAvailable) instead of waiting:
    an insert waits for another transaction's uncommitted row of the same survey, i.e. for a
    whole build.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (previous,) = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', '1s', true)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
