"""Celery tasks of classification runs: thin wrappers around the services, taking ids only."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_init
from django.conf import settings
from django.db import connections

from classifier.pipeline.text import tokenize
from classifier.runs import services
from classifier.training.jobs import job_run
from classifier.training.selectors import active_models_load
from config.tasks import CLASSIFIER_SWEEP, CLASSIFY_BATCH, RECLASSIFY_ALL, RETRY, task_token

logger = logging.getLogger(__name__)


@shared_task(name=CLASSIFY_BATCH, bind=True, acks_late=True, **RETRY)
def classify_batch(self: Task, classification_ids: list[int]) -> dict[str, Any]:
    """Classify the given Classification rows (those still claimable)."""
    return asdict(services.classification_run_batch(ids=classification_ids, token=task_token(self)))


@shared_task(name=CLASSIFIER_SWEEP, acks_late=True, **RETRY)
def sweep() -> dict[str, Any]:
    """Re-queue lost, stuck and retryable classification work (runs every minute)."""
    result = asdict(services.classifications_sweep())
    if any(result.values()):
        logger.info("classifier sweep: %s", result)
    return result


@shared_task(name=RECLASSIFY_ALL, bind=True, acks_late=True, **RETRY)
def reclassify_all(self: Task, job_id: int) -> str | None:
    """Run a re-classify-everything Job."""
    job = job_run(job_id=job_id, token=task_token(self), work=services.job_reclassify)
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
        loaded = active_models_load()
        tokenize("预热")  # a Chinese run loads the segmenter's dictionary once, here
        logger.info("loaded %d active models before starting the pool", loaded)
    except Exception:
        # Only a head start, never a reason for a worker not to start (say, its database is not
        # up yet): the pool processes then load on first use, and report any error per batch.
        logger.warning("active models not loaded ahead", exc_info=True)
    finally:
        # The pool processes must not share this process's database connection.
        connections.close_all()
