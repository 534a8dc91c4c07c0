"""Celery task of model training: a thin wrapper taking a job id."""

from __future__ import annotations

from celery import Task, shared_task

from classifier.training.jobs import job_retrain, job_run
from config.tasks import RETRAIN, RETRY, task_token


@shared_task(name=RETRAIN, bind=True, acks_late=True, **RETRY)
def retrain(self: Task, job_id: int) -> str | None:
    """Run a retrain Job."""
    job = job_run(job_id=job_id, token=task_token(self), work=job_retrain)
    return job.status if job else None
