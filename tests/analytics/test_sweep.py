"""The analytics sweep: a store whose rebuild was lost recovers by itself.

A survey edit (or an answer with a code the store lacks) marks the store stale and publishes its
rebuild on commit. With the broker down the message is lost, and the store would stay stale
(statistics reading the answers) for good; the sweep, run by beat, queues the rebuild again once
the store has been stale for longer than the grace, never while a rebuild holds its row, and
starts the first build of an open survey that has no store.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import kombu.exceptions
import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from config.tasks import ANALYTICS_REBUILD
from surveys.analytics import tasks
from surveys.analytics.selectors import Wanted, analytics_counts
from surveys.analytics.services import analytics_rebuild, analytics_survey_edited
from surveys.definitions.transfer import survey_import
from surveys.models import AnalyticsTable, Choice, Page, Question, Survey
from surveys.respondent import services
from surveys.statistics.requests import statistics_request_build
from surveys.statistics.selectors import grouped_counts, statistics_responses, store_selection
from tests.analytics.helpers import store_matches_answers
from tests.surveys.helpers import ALL_TYPES_DEFINITION

NOTHING = {"requeued": 0, "started": 0, "busy": 0}


class Broker:
    """The Celery broker as a test sets it: up (tasks run in-process) or down (refused)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.refused: list[tuple[str, tuple[Any, ...]]] = []
        monkeypatch.setattr(celery_app, "send_task", self._refuse)
        self.start()

    def _refuse(self, name: str, args: Any = None, **kwargs: Any) -> None:
        self.refused.append((name, tuple(args or ())))
        raise kombu.exceptions.OperationalError("Error 111 connecting. Connection refused.")

    def stop(self) -> None:
        celery_app.conf.task_always_eager = False  # publish then reaches for the broker

    def start(self) -> None:
        celery_app.conf.task_always_eager = True


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch, eager_celery: None) -> Broker:
    return Broker(monkeypatch)


@pytest.fixture
def survey(db: Any) -> Survey:
    return survey_import(definition=copy.deepcopy(ALL_TYPES_DEFINITION))  # open


@pytest.fixture
def sweep(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the sweep task as beat would, its on-commit publishes executed."""

    def _sweep() -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.analytics_sweep.apply().get()

    return _sweep


def _respond(survey: Survey, pet: str) -> str:
    response, _token = services.response_start(survey=survey, language="en")
    page = Page.objects.get(survey=survey, code="everything")
    response = services.response_save_page(
        response=response, page=page, values={"pet": services.PageValue(pet)}, seconds=20
    )
    return services.response_complete(response=response)


def _add_bird(survey: Survey, django_capture_on_commit_callbacks: Any) -> None:
    """The researcher adds a choice in the builder: the store lacks its code, so it goes stale."""
    pet = Question.objects.get(survey=survey, code="pet")
    Choice.objects.create(question=pet, code="bird", label={"en": "Bird"}, position=9)
    with django_capture_on_commit_callbacks(execute=True):
        assert analytics_survey_edited(survey=survey)


def _pets_from_the_store(survey: Survey) -> list[tuple[Any, int]] | None:
    """The pets' counts as statistics read them from the store (None: it cannot answer), after
    checking them against the answers."""
    request = statistics_request_build(survey=survey, variable="pet")
    selection = store_selection(request=request)
    assert selection is not None
    stored = analytics_counts(
        survey_id=survey.pk,
        variables=[Wanted(request.variable.source, request.variable.boolean)],
        selection=selection,
    )
    answers = grouped_counts(
        survey=survey,
        responses=statistics_responses(request=request),
        variables=[request.variable],
    )
    if stored is not None:
        assert sorted(stored) == sorted(answers)
    return stored


def _rebuild_lost(survey: Survey, broker: Broker, django_capture_on_commit_callbacks: Any) -> None:
    """A built store made stale by an edit while the broker is down: its rebuild is lost."""
    analytics_rebuild(survey=survey)
    broker.stop()
    _add_bird(survey, django_capture_on_commit_callbacks)


def _stale_for(survey: Survey, seconds: float) -> None:
    since = timezone.now() - timedelta(seconds=seconds)
    AnalyticsTable.objects.filter(survey=survey).update(stale_since=since)


def test_a_rebuild_lost_to_a_broker_outage_is_queued_again_after_the_grace(
    survey: Survey,
    broker: Broker,
    sweep: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    analytics_rebuild(survey=survey)
    _respond(survey, "cat")
    broker.stop()
    _add_bird(survey, django_capture_on_commit_callbacks)
    assert broker.refused == [(ANALYTICS_REBUILD, (survey.pk,))]  # the rebuild is lost
    _respond(survey, "bird")  # a code the stale store is not written with
    store = AnalyticsTable.objects.get(survey=survey)
    assert store.stale and store.stale_since is not None
    assert _pets_from_the_store(survey) is None  # statistics read the answers meanwhile

    broker.start()
    assert sweep() == NOTHING  # within the grace: the rebuild may still be on its way
    assert AnalyticsTable.objects.get(survey=survey).stale

    _stale_for(survey, settings.ANALYTICS_STALE_GRACE + 5)
    assert sweep() == {**NOTHING, "requeued": 1}
    store.refresh_from_db()
    assert not store.stale and store.stale_since is None
    assert store_matches_answers(survey)
    assert sorted(_pets_from_the_store(survey) or []) == [(("bird",), 1), (("cat",), 1)]
    assert sweep() == NOTHING


def test_a_store_stale_for_less_than_the_grace_is_left_alone(
    survey: Survey,
    broker: Broker,
    sweep: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _rebuild_lost(survey, broker, django_capture_on_commit_callbacks)
    _stale_for(survey, settings.ANALYTICS_STALE_GRACE - 30)
    assert sweep() == NOTHING
    assert broker.refused == [(ANALYTICS_REBUILD, (survey.pk,))]  # the edit's, not the sweep's
    assert AnalyticsTable.objects.get(survey=survey).stale


def test_a_broker_still_down_leaves_the_store_for_the_next_sweep(
    survey: Survey,
    broker: Broker,
    sweep: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _rebuild_lost(survey, broker, django_capture_on_commit_callbacks)
    _stale_for(survey, settings.ANALYTICS_STALE_GRACE + 5)
    assert sweep() == {**NOTHING, "requeued": 1}
    assert broker.refused == [(ANALYTICS_REBUILD, (survey.pk,))] * 2
    assert AnalyticsTable.objects.get(survey=survey).stale
    broker.start()
    assert sweep() == {**NOTHING, "requeued": 1}
    assert not AnalyticsTable.objects.get(survey=survey).stale


def test_a_rebuild_delivered_twice_builds_once(survey: Survey, broker: Broker) -> None:
    built = analytics_rebuild(survey=survey).built_at
    assert tasks.analytics_rebuild.apply(args=[survey.pk]).get() is True
    assert AnalyticsTable.objects.get(survey=survey).built_at == built  # not stale: left alone


def test_an_open_survey_without_a_store_gets_one(
    survey: Survey, broker: Broker, sweep: Any, settings: Any
) -> None:
    # Imported open: no store until something builds it.
    receipt = _respond(survey, "dog")
    _respond(survey, "cat")
    draft = survey_import(
        definition={**copy.deepcopy(ALL_TYPES_DEFINITION), "slug": "draft", "status": "draft"}
    )
    assert not AnalyticsTable.objects.exists()
    broker.stop()
    assert sweep() == {**NOTHING, "started": 1}  # its build queued, and lost
    assert broker.refused == [(ANALYTICS_REBUILD, (survey.pk,))]
    assert _pets_from_the_store(survey) is None
    services.response_withdraw(receipt_code=receipt)  # its table does not exist yet
    assert sweep() == NOTHING  # a store now, stale within the grace

    broker.start()
    _stale_for(survey, settings.ANALYTICS_STALE_GRACE + 5)
    assert sweep() == {**NOTHING, "requeued": 1}
    assert store_matches_answers(survey)
    assert _pets_from_the_store(survey) == [(("cat",), 1)]
    assert not AnalyticsTable.objects.filter(survey=draft).exists()


# --- PostgreSQL: a rebuild in progress holds the store's row ----------------------------------


@pytest.fixture
def holder(transactional_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """A second connection to the test database, as a rebuild in another process holds it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: set DATABASE_URL to PostgreSQL")
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
    ) as held:
        yield held


def _stale_past_the_grace(survey: Survey, settings: Any) -> None:
    analytics_rebuild(survey=survey)
    AnalyticsTable.objects.filter(survey=survey).update(
        stale=True,
        stale_since=timezone.now() - timedelta(seconds=settings.ANALYTICS_STALE_GRACE + 5),
    )


def test_a_store_being_rebuilt_is_skipped(
    holder: psycopg.Connection[Any], broker: Broker, settings: Any
) -> None:
    survey = survey_import(definition=copy.deepcopy(ALL_TYPES_DEFINITION))
    _stale_past_the_grace(survey, settings)
    broker.stop()  # so that a rebuild queued by mistake shows, rather than waits for the lock
    holder.execute(
        "SELECT id FROM surveys_analyticstable WHERE survey_id = %s FOR UPDATE", [survey.pk]
    )
    assert tasks.analytics_sweep.apply().get() == {**NOTHING, "busy": 1}  # and did not wait
    assert broker.refused == []
    holder.rollback()  # the rebuild died: its transaction is gone, the store still stale
    assert tasks.analytics_sweep.apply().get() == {**NOTHING, "requeued": 1}
    assert broker.refused == [(ANALYTICS_REBUILD, (survey.pk,))]


def test_a_store_a_submission_holds_is_not_skipped(
    holder: psycopg.Connection[Any], broker: Broker, settings: Any
) -> None:
    survey = survey_import(definition=copy.deepcopy(ALL_TYPES_DEFINITION))
    _stale_past_the_grace(survey, settings)
    broker.stop()
    # A write holds the store's row FOR SHARE while it submits; a busy survey always has one.
    holder.execute(
        "SELECT id FROM surveys_analyticstable WHERE survey_id = %s FOR SHARE", [survey.pk]
    )
    assert tasks.analytics_sweep.apply().get() == {**NOTHING, "requeued": 1}
    assert broker.refused == [(ANALYTICS_REBUILD, (survey.pk,))]
    holder.rollback()


def test_a_first_build_in_progress_is_not_waited_for(
    holder: psycopg.Connection[Any], broker: Broker
) -> None:
    survey = survey_import(definition=copy.deepcopy(ALL_TYPES_DEFINITION))
    # statistics_rebuild building the open survey's first store in another process: its row is
    # inserted, not yet committed.
    holder.execute(
        'INSERT INTO surveys_analyticstable (survey_id, "table", layout, stale, built_at) '
        "VALUES (%s, %s, '{}', true, now())",
        [survey.pk, f"surveys_analytics_{survey.pk}"],
    )
    broker.stop()
    assert tasks.analytics_sweep.apply().get() == NOTHING
    assert broker.refused == []
    holder.rollback()
    assert not AnalyticsTable.objects.filter(survey=survey).exists()
