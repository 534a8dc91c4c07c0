"""The PostgreSQL reader of exports gives exactly the rows of the portable (ORM) reader.

On PostgreSQL, exports read plain columns chunk by chunk (surveys.variables.reader.variable_rows);
everywhere else, and with ``portable=True``, they read through variables.reader.response_rows.
These tests hold the two to the same rows and the same CSV bytes, with text that COPY-like
formats and JSON must escape, responses of another survey interleaved, and classifications.
"""

from __future__ import annotations

import itertools
import sys
import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.analytics.services import analytics_drop, analytics_rebuild
from surveys.definitions.transfer import survey_import
from surveys.exports import services as export_services
from surveys.exports.formats import iter_csv
from surveys.management.commands.generate_responses import generate
from surveys.variables import postgresql, reader
from tests.exports.conftest import respond

TRICKY = 'tab\there, line\nbreak, back\\slash, "quotes", \\N, 汉字 and \r return'


def _rows(survey: Any, scope: str, *, portable: bool) -> list[list[Any]]:
    source, _variables = export_services.export_variables(survey=survey, language="en")
    return list(
        reader.variable_rows(survey=survey, variables=source, status=scope, portable=portable)
    )


def _csv(survey: Any, scope: str, *, portable: bool, labels: bool) -> bytes:
    source, variables = export_services.export_variables(survey=survey, language="zh-hans")
    rows = reader.variable_rows(survey=survey, variables=source, status=scope, portable=portable)
    return b"".join(iter_csv(rows, variables, labels=labels, bom=True))


def _same(survey: Any, scope: str) -> list[list[Any]]:
    fast = _rows(survey, scope, portable=False)
    portable = _rows(survey, scope, portable=True)
    assert fast == portable
    for left, right in zip(itertools.chain(*fast), itertools.chain(*portable), strict=True):
        assert type(left) is type(right), (left, right)
    for labels in (False, True):
        assert _csv(survey, scope, portable=False, labels=labels) == _csv(
            survey, scope, portable=True, labels=labels
        )
    return fast


@pytest.mark.parametrize("scope", ["complete", "in_progress", "all"])
def test_readers_agree_on_the_population(population, scope):  # type: ignore[no-untyped-def]
    rows = _same(population.survey, scope)
    expected = {"complete": 2, "in_progress": 1, "all": 3}[scope]
    assert len(rows) == expected


def test_readers_agree_on_escaped_text_and_interleaved_surveys(  # type: ignore[no-untyped-def]
    population, default_definition
):
    other = survey_import(definition={**default_definition, "slug": "other-survey"})
    answers = {
        "occupation": "other",
        "employment_type": "freelance",
        "country": "GB",
        "years_experience": "7.25",
        "tools_used": ["runway", "sora"],
        "lost_work": True,
        "change_text": TRICKY,
        "protect_text": "",
        "anything_else": "\\",
    }
    for _ in range(3):  # ids of the two surveys alternate, so each id range holds both
        respond(population.survey, answers)
        respond(other, {**answers, "change_text": "other survey"})
    rows = _same(population.survey, "complete")
    assert len(rows) == 5
    source, _variables = export_services.export_variables(survey=population.survey, language="en")
    position = next(i for i, v in enumerate(source) if v.name == "change_text")
    assert sum(row[position] == TRICKY for row in rows) == 3
    assert not any(row[position] == "other survey" for row in rows)


@pytest.mark.parametrize("stored", [False, True])
def test_readers_agree_across_many_chunks(default_survey, stored):  # type: ignore[no-untyped-def]
    list(generate(survey=default_survey, count=120, seed=11, batch=50))
    if not stored:
        analytics_drop(survey=default_survey)
    # Small chunks, so that chunk boundaries and the adaptive chunk size are crossed often.
    old = (postgresql.READ_CHUNK, postgresql.READ_CHUNK_FIRST)
    postgresql.READ_CHUNK, postgresql.READ_CHUNK_FIRST = 17, 5
    try:
        rows = _same(default_survey, "complete")
    finally:
        postgresql.READ_CHUNK, postgresql.READ_CHUNK_FIRST = old
    assert len(rows) == 120


def test_postgresql_uses_the_fast_reader(default_survey):  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("the fast reader is PostgreSQL's; elsewhere exports read through the ORM")
    source, _variables = export_services.export_variables(survey=default_survey, language="en")
    assert postgresql.read_plan(source) is not None


def _readers() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name == "export-reader"]


@pytest.mark.django_db(transaction=True)
def test_read_ahead_gives_the_same_rows_and_stops_with_its_consumer(  # type: ignore[no-untyped-def]
    population,
):
    # Committed data and no transaction open: chunks are read ahead by a second connection.
    if connection.vendor != "postgresql":
        pytest.skip("the read-ahead belongs to PostgreSQL's fast reader")
    list(generate(survey=population.survey, count=40, seed=5, batch=20))
    old = (postgresql.READ_CHUNK, postgresql.READ_CHUNK_FIRST)
    postgresql.READ_CHUNK, postgresql.READ_CHUNK_FIRST = 7, 3
    switch = sys.getswitchinterval()
    try:
        assert not connection.in_atomic_block
        rows = _same(population.survey, "all")
        assert len(rows) == 43
        assert not _readers()
        assert sys.getswitchinterval() == pytest.approx(switch)
        # A consumer that stops early (a client gone) stops the reader and its connection.
        source, _variables = export_services.export_variables(
            survey=population.survey, language="en"
        )
        partial = reader.variable_rows(survey=population.survey, variables=source)
        first = next(partial)
        assert first == rows[0]
        assert _readers()
        # Meanwhile threads switch promptly, so that the reader takes each chunk's data as it
        # comes; the interval is the process's own again once no read-ahead runs.
        assert sys.getswitchinterval() == pytest.approx(postgresql.READ_SWITCH_INTERVAL)
        partial.close()
        assert not _readers()
        assert sys.getswitchinterval() == pytest.approx(switch)
    finally:
        postgresql.READ_CHUNK, postgresql.READ_CHUNK_FIRST = old


def test_readers_agree_on_edge_answers(population):  # type: ignore[no-untyped-def]
    """A multiple choice answered with no option, options the survey no longer has, a "no"."""
    from surveys.models import Answer

    response = respond(
        population.survey,
        {"tools_used": ["runway"], "lost_work": False, "years_experience": "0.50"},
    )
    other = respond(population.survey, {"tools_used": ["sora"], "lost_work": True})
    Answer.objects.filter(response=response, question__code="tools_used").update(choices=[])
    Answer.objects.filter(response=other, question__code="tools_used").update(
        choices=["sora", "gone", 'q"uote']
    )
    rows = _same(population.survey, "complete")
    source, _variables = export_services.export_variables(survey=population.survey, language="en")
    by_name = {v.name: i for i, v in enumerate(source)}
    flags = [i for v, i in by_name.items() if v.startswith("tools_used_") and "other" not in v]
    assert flags
    empty, chosen = rows[-2], rows[-1]
    assert {empty[i] for i in flags} == {0}  # answered without an option: 0, not missing
    assert chosen[by_name["tools_used_sora"]] == 1
    assert empty[by_name["lost_work"]] == "0" and chosen[by_name["lost_work"]] == "1"


def test_a_provider_with_nothing_to_give_is_asked_once_and_read_once_it_has(population):  # type: ignore[no-untyped-def]
    from classifier.models import Classification
    from surveys.variables.catalogue import provider_has_values, provider_of

    survey = population.survey
    source, _variables = export_services.export_variables(survey=survey, language="en")
    coded = [v for v in source if v.source and v.source[0] == "classification"]
    provider = provider_of(coded[0])
    assert provider is not None
    assert provider_has_values(provider, survey, coded)
    with_codes = _same(survey, "complete")
    assert any(v == "displaced" for row in with_codes for v in row)
    # Not finished (pending) codings give no value: nothing to ask for, and the rows agree.
    Classification.objects.update(status=Classification.Status.PENDING)
    assert not provider_has_values(provider, survey, coded)
    without = _same(survey, "complete")
    positions = [i for i, v in enumerate(source) if v.source and v.source[0] == "classification"]
    assert all(row[i] is None for row in without for i in positions)
    Classification.objects.update(status=Classification.Status.DONE)
    assert _same(survey, "complete") == with_codes


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the analytics store is read by PostgreSQL's fast reader")


def _store_query(survey: Any, table: str, scope: str = "complete") -> tuple[list[Any], bool]:
    """The fast reader's rows, and whether it read the store's table."""
    with CaptureQueriesContext(connection) as queries:
        rows = _rows(survey, scope, portable=False)
    return rows, any(table in query["sql"] for query in queries.captured_queries)


def _set_stored(table: str, column: str, value: int | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %s', [value])  # test SQL


def test_complete_rows_take_the_coded_answers_from_the_analytics_store(population):  # type: ignore[no-untyped-def]
    _postgresql_only()
    survey = population.survey
    store = analytics_rebuild(survey=survey)
    rows, read = _store_query(survey, store.table)
    assert read
    assert rows == _same(survey, "complete")
    # The coded cells are the store's: a value changed in the store alone shows in the rows.
    source, _variables = export_services.export_variables(survey=survey, language="en")
    column = next(c for c in store.layout["columns"] if c["codes"] and c["mode"] == "choice")
    position = next(
        i for i, v in enumerate(source) if v.source[:3] == ("answer", column["question"], "")
    )
    _set_stored(store.table, column["name"], 2)
    changed, _read = _store_query(survey, store.table)
    assert {row[position] for row in changed} == {column["codes"][1]}
    # Other statuses are not in the store: read from the answers alone.
    for scope in ("in_progress", "all"):
        _rows_read, read = _store_query(survey, store.table, scope)
        assert not read


def test_responses_the_store_lacks_are_read_from_the_answers(population):  # type: ignore[no-untyped-def]
    """A stale store has no row for responses submitted since: theirs come from the answers."""
    _postgresql_only()
    survey = population.survey
    store = analytics_rebuild(survey=survey)
    with connection.cursor() as cursor:
        missing = population.english.pk
        cursor.execute(f'DELETE FROM "{store.table}" WHERE response_id = %s', [missing])
    rows, read = _store_query(survey, store.table)
    assert read
    assert rows == _same(survey, "complete")


def test_a_store_rebuilt_since_the_read_began_is_not_read(population, monkeypatch):  # type: ignore[no-untyped-def]
    """A rebuild renumbers the codes: rows of a build other than the one read are not taken."""
    _postgresql_only()
    monkeypatch.setattr(postgresql, "READ_CHUNK_FIRST", 1)  # a chunk a response
    monkeypatch.setattr(postgresql, "READ_CHUNK", 1)
    survey = population.survey
    store = analytics_rebuild(survey=survey)
    column = next(c for c in store.layout["columns"] if c["codes"] and c["mode"] == "choice")
    source, _variables = export_services.export_variables(survey=survey, language="en")
    stored_rows = reader.variable_rows(survey=survey, variables=source, status="complete")
    first = next(stored_rows)  # the read has begun with this build
    _set_stored(store.table, column["name"], 2)  # as a rebuild with other numbers would
    store.built_at = store.built_at.replace(year=store.built_at.year + 1)
    store.save(update_fields=["built_at"])
    assert [first, *stored_rows] == _rows(survey, "complete", portable=True)
