"""The PostgreSQL reader of exports gives exactly the rows of the portable (ORM) reader.

On PostgreSQL, exports read plain columns chunk by chunk (surveys.variables.reader.variable_rows);
everywhere else, and with ``portable=True``, they read through variables.reader.response_rows.
These tests hold the two to the same rows and the same CSV bytes, with text that COPY-like
formats and JSON must escape, responses of another survey interleaved, and classifications.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from django.db import connection

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


def test_readers_agree_across_many_chunks(default_survey):  # type: ignore[no-untyped-def]
    list(generate(survey=default_survey, count=120, seed=11, batch=50))
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
    try:
        assert not connection.in_atomic_block
        rows = _same(population.survey, "all")
        assert len(rows) == 43
        assert not _readers()
        # A consumer that stops early (a client gone) stops the reader and its connection.
        source, _variables = export_services.export_variables(
            survey=population.survey, language="en"
        )
        partial = reader.variable_rows(survey=population.survey, variables=source)
        first = next(partial)
        assert first == rows[0]
        assert _readers()
        partial.close()
        assert not _readers()
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
