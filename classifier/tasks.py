"""Celery tasks of the classifier: thin wrappers around services, taking ids only."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from classifier import services

logger = logging.getLogger(__name__)

# Only these are worth a retry: the database or the broker went away for a moment. Anything else
# is a bug or bad data, and retrying it would only repeat the failure.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


def _token(task: Task) -> str:
    # The task id survives Celery retries, so a retry may take over its own claim.
    return task.request.id or uuid.uuid4().hex


@shared_task(bind=True, acks_late=True, **RETRY)
def classify_batch(self: Task, classification_ids: list[int]) -> dict[str, Any]:
    """Classify the given Classification rows (those still claimable)."""
    return asdict(services.classification_run_batch(ids=classification_ids, token=_token(self)))


@shared_task(acks_late=True, **RETRY)
def sweep() -> dict[str, Any]:
    """Re-queue lost, stuck and retryable classification work (runs every minute)."""
    result = asdict(services.classifications_sweep())
    if any(result.values()):
        logger.info("classifier sweep: %s", result)
    return result


@shared_task(bind=True, acks_late=True, **RETRY)
def retrain(self: Task, job_id: int) -> str | None:
    """Run a retrain Job."""
    job = services.job_run(job_id=job_id, token=_token(self))
    return job.status if job else None


@shared_task(bind=True, acks_late=True, **RETRY)
def reclassify_all(self: Task, job_id: int) -> str | None:
    """Run a re-classify-everything Job."""
    job = services.job_run(job_id=job_id, token=_token(self))
    return job.status if job else None
