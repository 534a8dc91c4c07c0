"""Messages queued under the classifier's task names from before the move still run.

A message carries only its task's name: the worker finds the task by that name in its registry.
These tests send by the literal names, not by the constants, so a renamed constant fails them.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from classifier.models import Classification, Job
from config.celery import app as celery_app
from tests.classifier.factories import ClassificationFactory, JobFactory

Status = Classification.Status
OLD_NAMES = {
    "classifier.tasks.classify_batch": "default",
    "classifier.tasks.sweep": "default",
    "classifier.tasks.retrain": "default",
    "classifier.tasks.reclassify_all": "default",
}


@pytest.fixture(autouse=True)
def _worker_registry() -> None:
    """The task modules a worker imports by autodiscovery before it consumes anything."""
    celery_app.loader.import_default_modules()


def _send(name: str, *args: object) -> Any:
    """Deliver a message for task `name` the way a worker resolves it: by name alone."""
    assert name in celery_app.tasks  # else the signature would go to the broker, not run here
    return celery_app.signature(name, args=args).apply_async().get()


def _pending_rows(survey, active_models, texts: list[str]) -> list[int]:
    from surveys.models import Question

    question = Question.objects.get(survey=survey, code="change_text")
    return [
        ClassificationFactory.create(
            answer__response__survey=survey,
            answer__response__complete=True,
            answer__question=question,
            answer__text=text,
            codebook=active_models["displacement-risk"].codebook,
        ).pk
        for text in texts
    ]


def test_every_old_name_is_registered_and_routed() -> None:
    for name, queue in OLD_NAMES.items():
        assert name in celery_app.tasks
        assert celery_app.amqp.router.route({}, name)["queue"].name == queue


@pytest.mark.django_db
def test_classify_batch_by_its_old_name(default_survey, active_models) -> None:
    ids = _pending_rows(default_survey, active_models, ["I lost my biggest client to AI video"])
    result = _send("classifier.tasks.classify_batch", ids)
    assert result == {"claimed": 1, "done": 1, "failed": 0}
    row = Classification.objects.get(pk=ids[0])
    assert row.status == Status.DONE and row.model_version == active_models["displacement-risk"]


@pytest.mark.django_db
def test_sweep_by_its_old_name(default_survey, active_models, django_capture_on_commit_callbacks):
    ids = _pending_rows(default_survey, active_models, ["my bookings dried up completely"])
    Classification.objects.filter(pk__in=ids).update(
        updated_at=timezone.now() - timedelta(minutes=10)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = _send("classifier.tasks.sweep")
    assert result["pending"] == 1
    assert Classification.objects.get(pk=ids[0]).status == Status.DONE


@pytest.mark.django_db
def test_retrain_by_its_old_name(shipped_codebooks, active_models) -> None:
    codebook = active_models["displacement-risk"].codebook
    job = JobFactory.create(kind=Job.Kind.RETRAIN, codebook=codebook)
    assert _send("classifier.tasks.retrain", job.pk) == Job.Status.DONE
    job.refresh_from_db()
    assert job.model_version is not None and job.model_version.version == 2
    assert job.model_version.codebook == codebook and not job.model_version.is_active


@pytest.mark.django_db
def test_reclassify_all_by_its_old_name(default_survey, active_models) -> None:
    ids = _pending_rows(default_survey, active_models, ["the tools speed me up every day"])
    codebook = active_models["displacement-risk"].codebook
    job = JobFactory.create(kind=Job.Kind.RECLASSIFY, codebook=codebook)
    assert _send("classifier.tasks.reclassify_all", job.pk) == Job.Status.DONE
    job.refresh_from_db()
    assert job.progress == 1.0 and job.model_version == active_models["displacement-risk"]
    assert Classification.objects.get(pk=ids[0]).status == Status.DONE


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_messages_sent_by_the_old_names(
    celery_worker_process, shipped_codebooks, default_survey, active_models
):
    batch = _pending_rows(default_survey, active_models, ["I lost my biggest client to AI video"])
    swept = _pending_rows(default_survey, active_models, ["my bookings dried up completely"])
    Classification.objects.filter(pk__in=swept).update(
        updated_at=timezone.now() - timedelta(minutes=10)
    )
    celery_app.send_task("classifier.tasks.classify_batch", args=[batch])
    celery_app.send_task("classifier.tasks.sweep")
    rows = Classification.objects.filter(pk__in=batch + swept)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and rows.exclude(status=Status.DONE).exists():
        time.sleep(0.25)
    assert set(rows.values_list("status", flat=True)) == {Status.DONE}
