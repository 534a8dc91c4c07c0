"""Celery tasks of the classifier: thin wrappers around services, taking ids only."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task, shared_task
from celery.signals import worker_init
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from classifier import selectors, services
from classifier.pipeline.text import tokenize

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


@worker_init.connect
def load_models_before_forking(sender: Any = None, **kwargs: Any) -> None:
    """Load the active models in a classifying worker's main process, before its pool forks.

    Every pool process then starts with them (and the Chinese segmenter's dictionary) in memory,
    shared copy-on-write, instead of its first batches paying seconds to load them.
    """
    queues = getattr(getattr(getattr(sender, "app", None), "amqp", None), "queues", None)
    consumed = set(queues.consume_from or queues) if queues is not None else set()
    if settings.EXPOSURE_QUEUE_DEFAULT not in consumed:
        return  # e.g. the exports worker: it never classifies
    try:
        loaded = selectors.active_models_load()
        tokenize("预热")  # a Chinese run loads the segmenter's dictionary once, here
        logger.info("loaded %d active models before starting the pool", loaded)
    except Exception:
        # Only a head start, never a reason for a worker not to start (say, its database is not
        # up yet): the pool processes then load on first use, and report any error per batch.
        logger.warning("active models not loaded ahead", exc_info=True)
    finally:
        # The pool processes must not share this process's database connection.
        connections.close_all()
