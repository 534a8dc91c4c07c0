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
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
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
from surveys.models import AnalyticsTable, Answer, Question, Response, StatisticsVersion, Survey

logger = logging.getLogger(__name__)


def statistics_version_bump(*, survey_ids: Iterable[int]) -> None:
    """Move these surveys' data versions on, in the caller's transaction (cached statistics of the
    old versions are then never read again). Call it last in the transaction: the rows it locks
    are held until commit.
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
def analytics_rebuild(*, survey: Survey) -> AnalyticsTable:
    """(Re)build the survey's store from its answers and clear `stale`; returns its row."""
    store, _ = AnalyticsTable.objects.get_or_create(
        survey=survey, defaults={"table": table_name(survey), "stale": True}
    )
    store = AnalyticsTable.objects.select_for_update().get(pk=store.pk)
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
    store.built_at = timezone.now()
    store.save()
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
    AnalyticsTable.objects.filter(pk=store.pk).update(stale=True)
    transaction.on_commit(functools.partial(publish, ANALYTICS_REBUILD, store.survey_id))


def analytics_response_store(*, response: Response) -> None:
    """Write `response`'s row (replacing any) when it is complete and not a test; in the caller's
    transaction. A survey without a store, or with a stale one, is left to its next rebuild.
    """
    if response.is_test or response.status != Response.Status.COMPLETE:
        return
    _store_row(response)
    # The survey's statistics change whether or not it has a store.
    statistics_version_bump(survey_ids=[response.survey_id])


def _store_row(response: Response) -> None:
    store = _locked_store(response.survey_id)
    if store is None or store.stale:
        return
    layout = Layout.from_json(store.layout)
    answers = {(a.question_id, a.row): a for a in Answer.objects.filter(response_id=response.pk)}
    try:
        values = row_values(layout, answers)
    except KeyError as missing:
        _mark_stale(store, f"a code its column {missing} lacks")
        return
    assert response.submitted_at is not None  # a check constraint of complete responses
    submitted = connection.ops.adapt_datetimefield_value(response.submitted_at)
    params: list[Any] = [response.pk, response.language, submitted, *values]
    with connection.cursor() as cursor:
        cursor.execute(insert_statement(layout), params)


def analytics_response_remove(*, survey_id: int, response_id: int) -> None:
    """Delete a response's row (withdrawn), in the caller's transaction; the caller then deletes
    the response and moves the data version on last (`statistics_version_bump`).
    """
    store = _locked_store(survey_id)
    if store is not None:
        with connection.cursor() as cursor:
            cursor.execute(delete_statement(Layout.from_json(store.layout)), [response_id])


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
