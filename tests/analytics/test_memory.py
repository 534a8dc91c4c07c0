"""Counts from the store's columns held in memory, against the store's SQL and the answers.

These tests commit (no test transaction): a process holds the columns only outside
transactions, and keeps them current from the changes other transactions commit.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.analytics.selectors import Wanted, analytics_counts
from surveys.analytics.services import analytics_rebuild
from surveys.definitions.transfer import survey_import
from surveys.models import AnalyticsChange, AnalyticsTable, Survey
from surveys.respondent import services
from surveys.statistics.requests import statistics_request_build
from surveys.statistics.selectors import grouped_counts, statistics_responses, store_selection
from tests.analytics.test_store import TABLES, _apply, _save, operations
from tests.surveys.helpers import ALL_TYPES_DEFINITION

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def survey(transactional_db: Any) -> Survey:
    return survey_import(definition=copy.deepcopy(ALL_TYPES_DEFINITION))


def _request(survey: Survey, variable: str, by: str | None, filters: list, **kwargs: Any) -> Any:
    """The table's request over the last three days, and the variables it counts by."""
    request = statistics_request_build(
        survey=survey,
        variable=variable,
        by=by,
        filters=filters,
        date_from=timezone.localdate() - timedelta(days=3),
        **kwargs,
    )
    return request, [request.variable, *([request.by] if request.by else [])]


def _counts(
    survey: Survey, variable: str, by: str | None, filters: list, stored: bool = True, **kwargs: Any
) -> dict:
    """The table's counts through the store (`stored`), else from the answers."""
    request, wanted = _request(survey, variable, by, filters, **kwargs)
    selection = store_selection(request=request) if stored else None
    responses = statistics_responses(request=request)
    return dict(
        grouped_counts(survey=survey, responses=responses, variables=wanted, selection=selection)
    )


def _by_day(survey: Survey, variable: str, by: str | None, filters: list) -> Counter | None:
    """The store's counts grouped by language and day too, as protected tables read them."""
    request, wanted = _request(survey, variable, by, filters)
    selection = store_selection(request=request)
    assert selection is not None
    counts = analytics_counts(
        survey_id=survey.pk,
        variables=[Wanted(v.source, v.boolean) for v in wanted],
        selection=selection,
        extra=("language", "day"),
    )
    return None if counts is None else Counter(dict(counts))


def _store_group_bys(captured: CaptureQueriesContext, survey: Survey) -> int:
    table = f"surveys_analytics_{survey.pk}"
    return sum(1 for q in captured.captured_queries if table in q["sql"] and "GROUP BY" in q["sql"])


@settings(
    deadline=None,
    max_examples=12,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(operations, min_size=1, max_size=3))
def test_memory_counts_equal_the_store_and_the_answers_after_any_operations(
    survey: Survey, eager_celery: None, steps: list, settings: Any
) -> None:
    """Sequences of submissions, changed pages, test and unfinished responses, withdrawals,
    added choices and rebuilds, each committed; counts between them come from memory."""
    analytics_rebuild(survey=survey)
    receipts: list[str] = []
    for step in steps:
        for operation in step:
            _apply(survey, operation, receipts)
        for variable, by, filters in TABLES:
            with CaptureQueriesContext(connection) as captured:
                in_memory = _counts(survey, variable, by, filters)
            settings.EXPOSURE_ANALYTICS_MEMORY_MB = 0
            in_sql = _counts(survey, variable, by, filters)
            settings.EXPOSURE_ANALYTICS_MEMORY_MB = 256
            assert Counter(in_memory) == Counter(in_sql)
            assert Counter(in_memory) == Counter(
                _counts(survey, variable, by, filters, stored=False)
            )
            if not AnalyticsTable.objects.get(survey=survey).stale:
                assert _store_group_bys(captured, survey) == 0  # counted in memory
            # As the protected tables group them: by language and day (in a zone not UTC's).
            with timezone.override("Asia/Kolkata"):
                by_day = _by_day(survey, variable, by, filters)
                settings.EXPOSURE_ANALYTICS_MEMORY_MB = 0
                assert by_day == _by_day(survey, variable, by, filters)
                settings.EXPOSURE_ANALYTICS_MEMORY_MB = 256


def test_each_write_reaches_the_counts_through_its_change_alone(
    survey: Survey, eager_celery: None
) -> None:
    analytics_rebuild(survey=survey)
    receipts = []
    for pet in ("cat", "dog", "cat"):
        response, _ = services.response_start(survey=survey, language="en")
        receipts.append(services.response_complete(response=_save(survey, response, {"pet": pet})))
    assert _counts(survey, "pet", None, []) == {("cat",): 2, ("dog",): 1}

    response, _ = services.response_start(survey=survey, language="zh-hans")
    services.response_complete(response=_save(survey, response, {"pet": "dog"}))
    with CaptureQueriesContext(connection) as captured:
        assert _counts(survey, "pet", None, []) == {("cat",): 2, ("dog",): 2}
    store = f'"surveys_analytics_{survey.pk}" s'
    loads = [q for q in captured.captured_queries if f"FROM {store}" in q["sql"]]
    assert not loads  # the new row came through its change, not a reload
    assert AnalyticsChange.objects.filter(survey=survey, response_id=response.pk).exists()

    services.response_withdraw(receipt_code=receipts[0])
    assert _counts(survey, "pet", None, []) == {("cat",): 1, ("dog",): 2}
    assert _counts(survey, "pet", None, [], language="zh-hans") == {("dog",): 1}

    analytics_rebuild(survey=survey)  # a new table: the columns are read again
    assert not AnalyticsChange.objects.filter(survey=survey).exists()
    assert _counts(survey, "pet", "language", []) == {
        ("cat", "en"): 1,
        ("dog", "en"): 1,
        ("dog", "zh-hans"): 1,
    }


def test_inside_a_transaction_or_switched_off_the_store_counts_in_sql(
    survey: Survey, settings: Any
) -> None:
    analytics_rebuild(survey=survey)
    response, _ = services.response_start(survey=survey, language="en")
    services.response_complete(response=_save(survey, response, {"pet": "cat"}))
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        assert _counts(survey, "pet", None, []) == {("cat",): 1}
    assert _store_group_bys(captured, survey) == 1
    settings.EXPOSURE_ANALYTICS_MEMORY_MB = 0
    with CaptureQueriesContext(connection) as captured:
        assert _counts(survey, "pet", None, []) == {("cat",): 1}
    assert _store_group_bys(captured, survey) == 1


def test_counts_keep_up_with_concurrent_submissions(survey: Survey) -> None:
    """Writers commit in other connections while this one counts: every count lies between the
    submissions finished before it and those started, and the last one equals the SQL's."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: set DATABASE_URL to PostgreSQL")
    analytics_rebuild(survey=survey)
    finished = [0]
    started = [0]
    lock = threading.Lock()

    def submit(n: int) -> None:
        try:
            for i in range(n):
                response, _ = services.response_start(survey=survey, language="en")
                response = _save(survey, response, {"pet": ("cat", "dog")[i % 2]})
                with lock:
                    started[0] += 1
                services.response_complete(response=response)
                with lock:
                    finished[0] += 1
        finally:
            close_old_connections()
            connection.close()

    writers = [threading.Thread(target=submit, args=(15,)) for _ in range(3)]
    for writer in writers:
        writer.start()
    while any(w.is_alive() for w in writers):
        with lock:
            low = finished[0]
        total = sum(_counts(survey, "pet", None, []).values())
        with lock:
            high = started[0]
        assert low <= total <= high
    for writer in writers:
        writer.join()
    in_memory = _counts(survey, "pet", None, [])
    assert sum(in_memory.values()) == 45
    assert in_memory == {("cat",): 24, ("dog",): 21}
