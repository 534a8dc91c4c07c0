"""Broker faults: Redis crashed and restarted, flushed, or down while respondents submit."""

from __future__ import annotations

import statistics

import pytest
from django.conf import settings
from django.test import override_settings

from classifier.models import Classification
from surveys.models import Response
from tests.faults.conftest import wait_until
from tests.faults.helpers import (
    assert_each_classified_once,
    respond,
    respond_over_http,
    rows_of,
    settled,
)

pytestmark = pytest.mark.worker

ROWS = 4  # two classify answers x two codebooks with an active model


def _busy_with_a_slow_batch(cluster, survey):  # type: ignore[no-untyped-def]
    """Occupy the (single) worker with a slow batch and return its response."""
    slow = respond(survey, 0, slow=True)
    wait_until(
        lambda: rows_of([slow]).filter(status=Classification.Status.RUNNING).exists(),
        what="the worker claims the slow batch",
        logs=cluster,
    )
    return slow


def test_queued_work_survives_a_redis_crash_and_restart(
    cluster, broker, probe_models, default_survey
):
    probe = probe_models()
    cluster.worker("alpha")  # no beat: only Redis's own persistence can deliver the queue
    slow = _busy_with_a_slow_batch(cluster, default_survey)
    queued = [respond(default_survey, n) for n in range(1, 6)]
    assert broker.queued() == len(queued)
    broker.restart(crash=True)  # SIGKILL: no shutdown save, only the append-only file
    assert broker.queued() == len(queued)
    responses = [slow, *queued]
    wait_until(
        lambda: settled(responses, per_response=ROWS),
        what="the queue that survived the crash is worked off",
        logs=cluster,
    )
    assert_each_classified_once(responses, probe.predictions(), per_response=ROWS)
    assert set(rows_of(responses).values_list("attempts", flat=True)) == {1}


def test_work_lost_in_a_redis_flush_is_queued_again_by_the_sweep(
    cluster, broker, probe_models, default_survey
):
    probe = probe_models()
    cluster.worker("alpha")
    slow = _busy_with_a_slow_batch(cluster, default_survey)
    queued = [respond(default_survey, n) for n in range(1, 6)]
    assert broker.queued() == len(queued)
    broker.client().flushall()
    assert broker.queued() == 0
    cluster.beat()  # the periodic sweep finds the pending rows whose tasks were flushed away
    responses = [slow, *queued]
    wait_until(
        lambda: settled(responses, per_response=ROWS),
        what="the flushed work is queued again and classified",
        logs=cluster,
    )
    assert_each_classified_once(responses, probe.predictions(), per_response=ROWS)
    assert set(rows_of(responses).values_list("attempts", flat=True)) == {1}


def test_respondents_submitting_while_redis_is_down_are_saved_and_thanked(
    cluster, broker, probe_models, default_survey
):
    probe = probe_models()
    cluster.worker("alpha")
    cluster.beat()
    _, baseline = respond_over_http(default_survey, 99)  # the same submit with Redis up
    broker.stop()
    # The site's cache lives on the same Redis: it is down for the respondents too.
    dead_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": broker.url.replace("/0", "/1"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=dead_cache):
        submitted = [respond_over_http(default_survey, n) for n in range(4)]
    receipts = [receipt for receipt, _ in submitted]
    assert len(set(receipts)) == len(receipts) and all(receipts)
    responses = list(Response.objects.filter(status=Response.Status.COMPLETE).order_by("pk"))
    assert len(responses) == 1 + len(submitted)
    responses = responses[1:]  # those submitted while Redis was down
    # Saved, with their classification rows waiting in the database for the broker.
    assert set(rows_of(responses).values_list("status", flat=True)) == {"pending"}
    # Publishing gave up quickly instead of hanging the submit: a hang guard, far above the
    # worst case the retry policy and the socket timeouts allow (about 3 x 2 s).
    seconds = [elapsed for _, elapsed in submitted]
    median = statistics.median(seconds)
    print(
        f"\nsubmit with Redis down: median {median:.2f} s, max {max(seconds):.2f} s"
        f" (with Redis up: {baseline:.2f} s)"
    )
    policy = settings.CELERY_TASK_PUBLISH_RETRY_POLICY
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    worst = (policy["max_retries"] + 1) * (
        options["socket_connect_timeout"] + policy["interval_max"]
    )
    assert max(seconds) < 3 * worst, seconds
    broker.start()
    wait_until(
        lambda: settled(responses, per_response=ROWS),
        what="classification catches up once Redis is back",
        logs=cluster,
    )
    assert_each_classified_once(responses, probe.predictions(), per_response=ROWS)
    assert set(rows_of(responses).values_list("attempts", flat=True)) == {1}
