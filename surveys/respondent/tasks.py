"""Celery tasks of the respondent side: thin wrappers around its services."""

from __future__ import annotations

import logging

from celery import shared_task

from config.tasks import RESPONSES_PURGE, RETRY
from surveys.respondent import services

logger = logging.getLogger(__name__)


@shared_task(name=RESPONSES_PURGE, acks_late=True, **RETRY)
def responses_purge() -> int:
    """Delete unsubmitted responses whose resume link has expired (runs once an hour)."""
    purged = services.responses_purge_unsubmitted()
    if purged:
        logger.info("purged %d unsubmitted responses", purged)
    return purged
