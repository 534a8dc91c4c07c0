"""Celery tasks of surveys: thin wrappers around the export services, taking ids only.

Both run on the "exports" queue (settings.EXPORT_QUEUE), so a long export never holds up
classification; a worker started with `-Q default,exports` serves both queues.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from config.tasks import EXPORT_RUN, EXPORTS_SWEEP, RETRY, task_token
from surveys.exports import services as export_services

logger = logging.getLogger(__name__)


@shared_task(
    name=EXPORT_RUN,
    bind=True,
    acks_late=True,
    time_limit=settings.EXPORT_TIME_LIMIT,
    soft_time_limit=max(settings.EXPORT_TIME_LIMIT - 60, 30),
    **RETRY,
)
def export_run(self: Task, job_id: int) -> str | None:
    """Write the file of ExportJob `job_id` (a repeated delivery does nothing)."""
    job = export_services.export_run(job_id=job_id, token=task_token(self))
    return job.status if job else None


@shared_task(name=EXPORTS_SWEEP, acks_late=True, **RETRY)
def exports_sweep() -> dict[str, Any]:
    """Expire old export files, re-queue lost or stuck export jobs (runs every few minutes)."""
    result = asdict(export_services.exports_sweep())
    if any(result.values()):
        logger.info("exports sweep: %s", result)
    return result
