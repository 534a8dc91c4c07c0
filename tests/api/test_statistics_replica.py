"""The read replica: statistics and export rows are read through the `replica` alias when set.

`DATABASE_REPLICA_URL` adds the alias; the test settings make it a mirror of the test database,
so the same rows are seen through both. Without it (the usual test run) the alias is absent and
the reads stay on `default`; the query tests then skip.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from surveys.core.databases import read_database
from surveys.models import Survey
from surveys.variables.catalogue import survey_variables
from surveys.variables.reader import variable_rows
from tests.api.conftest import build_population, make_people
from tests.api.helpers import API, token_client

needs_replica = pytest.mark.skipif(
    "replica" not in settings.DATABASES, reason="DATABASE_REPLICA_URL is not set"
)


def test_without_a_replica_reads_stay_on_default(transactional_db: Any) -> None:
    if "replica" in settings.DATABASES:
        pytest.skip("a replica is configured")
    assert read_database() == "default"


def test_with_a_replica_reads_go_there_outside_a_transaction(
    transactional_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(settings.DATABASES, "replica", settings.DATABASES["default"])
    assert read_database() == "replica"
    with transaction.atomic():
        # The transaction's own writes are on its connection only.
        assert read_database() == "default"


@pytest.fixture
def committed(transactional_db: Any, default_definition: dict[str, Any]) -> tuple[Survey, Any]:
    from surveys.definitions.transfer import survey_import

    survey = survey_import(definition=default_definition)
    people = make_people(survey)
    build_population(survey)
    return survey, people


@needs_replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_statistics_are_counted_on_the_replica(committed: tuple[Survey, Any]) -> None:
    survey, people = committed
    client = token_client(people.owner)
    for query in ("variable=employment_type&by=lost_work", "variable=country&status=all"):
        with CaptureQueriesContext(connections["replica"]) as replica:
            answer = client.get(f"{API}/surveys/{survey.slug}/statistics/?{query}")
        assert answer.status_code == 200, answer.content
        assert any("surveys_response" in q["sql"] for q in replica.captured_queries)
    survey.public_statistics = True
    survey.save()
    with CaptureQueriesContext(connections["replica"]) as replica:
        answer = APIClient().get(f"{API}/surveys/{survey.slug}/statistics/?variable=country")
    assert answer.status_code == 200
    sql = " ".join(q["sql"] for q in replica.captured_queries)
    assert "surveys_statisticsversion" in sql  # the version is read beside the figures
    assert "surveys_response" in sql or "surveys_analytics_" in sql


@needs_replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_export_rows_are_read_on_the_replica(
    committed: tuple[Survey, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read in turn, on this thread's connections, where the capture sees them.
    monkeypatch.setattr("surveys.variables.postgresql.READ_AHEAD", 0)
    survey, _people = committed
    variables = [v for v in survey_variables(survey=survey, derived=False) if v.categorical][:5]
    for portable in (False, True):
        with CaptureQueriesContext(connections["replica"]) as replica:
            rows = list(variable_rows(survey=survey, variables=variables, portable=portable))
        assert len(rows) == 60
        assert any("surveys_answer" in q["sql"] for q in replica.captured_queries)
