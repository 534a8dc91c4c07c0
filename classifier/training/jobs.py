"""Retrain and re-classify jobs: a database row per job, claimed once, its progress recorded."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from classifier import pipeline
from classifier.errors import ClassifierError
from classifier.models import Codebook, Job
from classifier.training.services import model_version_train
from config.tasks import RECLASSIFY_ALL, RETRAIN, publish

# What a job does once claimed: given the job and the claim token, it records its own end.
JobWork = Callable[[Job, str], None]

_JOB_TASKS = {Job.Kind.RETRAIN: RETRAIN, Job.Kind.RECLASSIFY: RECLASSIFY_ALL}


@transaction.atomic
def job_start(
    *,
    kind: str,
    codebook: Codebook,
    user: User | None = None,
    options: dict[str, Any] | None = None,
) -> Job:
    """Record a retrain / re-classify job and queue its task on commit."""
    job = Job.objects.create(kind=kind, codebook=codebook, requested_by=user, options=options or {})
    transaction.on_commit(functools.partial(publish, _JOB_TASKS[Job.Kind(kind)], job.pk))
    return job


def _job_claim(*, job_id: int, token: str) -> Job | None:
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, task_id=token), pk=job_id
    ).update(status=Job.Status.RUNNING, task_id=token, started_at=now, updated_at=now)
    return (
        Job.objects.select_related("codebook", "requested_by").get(pk=job_id) if claimed else None
    )


def job_update(job: Job, **fields: Any) -> None:
    """Store `fields` on the job row; a done or failed status also records when it finished."""
    fields["updated_at"] = timezone.now()
    if fields.get("status") in (Job.Status.DONE, Job.Status.FAILED):
        fields["finished_at"] = fields["updated_at"]
    Job.objects.filter(pk=job.pk).update(**fields)


def job_run(*, job_id: int, token: str, work: JobWork) -> Job | None:
    """Run a queued job once with `work` (a second delivery finds it claimed and does nothing).

    Domain and pipeline errors end the job `failed` with their message; others propagate.
    """
    job = _job_claim(job_id=job_id, token=token)
    if job is None:
        return None
    try:
        work(job, token)
    except (ClassifierError, pipeline.PipelineError) as exc:
        job_update(job, status=Job.Status.FAILED, error=str(exc))
    job.refresh_from_db()
    return job


def job_retrain(job: Job, token: str) -> None:
    """A retrain job's work: a new version from the seed corpus and human labels."""
    job_update(job, progress=0.1, message="training")
    version = model_version_train(
        codebook=job.codebook,
        activate=bool(job.options.get("activate")),
        user=job.requested_by,
    )
    state = "active" if version.is_active else "not active"
    job_update(
        job,
        status=Job.Status.DONE,
        progress=1.0,
        model_version=version,
        message=f"trained {version} on {version.training_size} texts ({state})",
    )


def jobs_fail_stale(*, now: datetime) -> int:
    """Mark jobs running longer than the task time limit failed (their worker is gone)."""
    started_before = now - timedelta(seconds=settings.EXPOSURE_CLASSIFY_STALE_SECONDS)
    return Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=started_before).update(
        status=Job.Status.FAILED,
        error="the worker running this job stopped (lost or over its time limit)",
        finished_at=now,
        updated_at=now,
    )
