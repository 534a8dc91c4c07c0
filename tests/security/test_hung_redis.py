"""A Redis that accepts connections and never answers costs a submit seconds, not the worker.

Without socket timeouts each cache call and each publish waits for redis-py's or kombu's own
limits (or forever), and gunicorn kills the worker at 30 s with the respondent's answers unsaved.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import kombu.pools
import pytest
from django.conf import settings
from django.test import Client, override_settings

from classifier.models import Classification, Codebook, ModelVersion
from config.celery import app as celery_app
from surveys.models import Response
from tests.surveys.helpers import DEFAULT_ANSWERS, DEFAULT_PAGES_SHOWN, post, start

HANG_GUARD = 10.0  # seconds; far above the ~3 s the timeouts allow, far below gunicorn's 30 s


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


def _use_broker(url: str) -> None:
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()
    celery_app.conf.broker_url = url


@pytest.fixture
def hung_broker(hung_redis: str) -> Iterator[None]:
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_always_eager)
    _use_broker(f"{hung_redis}/0")
    conf.task_always_eager = False
    try:
        yield
    finally:
        _use_broker(saved[0])
        conf.task_always_eager = saved[1]


@pytest.fixture
def classifying(db, tmp_path):  # type: ignore[no-untyped-def]
    """Active model versions, so a submit publishes classification tasks (never run here)."""
    from classifier.training.codebooks import codebooks_install

    codebooks_install()
    for codebook in Codebook.objects.all():
        ModelVersion.objects.create(
            codebook=codebook,
            version=1,
            artifact_path=str(tmp_path / f"{codebook.slug}.joblib"),
            checksum="0" * 64,
            threshold=0.5,
            metrics={},
            training_size=1,
            sklearn_version="0",
            is_active=True,
        )


def test_a_submit_with_redis_hung_completes_and_saves_the_answers(
    default_survey, classifying, hung_redis, hung_broker, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"{hung_redis}/1",
            "OPTIONS": settings.REDIS_CACHE_OPTIONS,
        }
    }
    client = Client(REMOTE_ADDR="203.0.113.44")
    with override_settings(CACHES=caches):
        token = start(client, default_survey)
        for code in DEFAULT_PAGES_SHOWN[:-1]:
            assert post(client, token, DEFAULT_ANSWERS[code]).status_code == 302
        started = time.monotonic()
        # The publish runs on commit, as it does after the submit's transaction in production.
        with django_capture_on_commit_callbacks(execute=True):
            submit = post(client, token, DEFAULT_ANSWERS[DEFAULT_PAGES_SHOWN[-1]], "submit")
        seconds = time.monotonic() - started
    assert submit.status_code == 302 and submit["Location"].endswith("/thanks/")
    print(f"\nsubmit with Redis hung: {seconds:.2f} s")
    assert seconds < HANG_GUARD
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    assert response.answers.count() > 10
    rows = Classification.objects.filter(answer__response=response)
    assert rows.exists() and set(rows.values_list("status", flat=True)) == {"pending"}


def test_one_publish_to_a_hung_broker_gives_up_quickly(hung_broker) -> None:  # type: ignore[no-untyped-def]
    from config.tasks import CLASSIFY_BATCH, publish

    started = time.monotonic()
    assert publish(CLASSIFY_BATCH, [1]) is False  # the sweep queues it later
    assert time.monotonic() - started < HANG_GUARD
