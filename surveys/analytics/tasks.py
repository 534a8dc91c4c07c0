"""Celery tasks of the analytics store: thin wrappers around its rebuild and its sweep."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from config.tasks import ANALYTICS_REBUILD, ANALYTICS_SWEEP, RETRY
from surveys.analytics import services
from surveys.models import Survey


@shared_task(
    name=ANALYTICS_REBUILD,
    acks_late=True,
    time_limit=settings.EXPORT_TIME_LIMIT,
    soft_time_limit=max(settings.EXPORT_TIME_LIMIT - 60, 30),
    **RETRY,
)
def analytics_rebuild(survey_id: int) -> bool:
    """Rebuild the store of survey `survey_id` unless it is no longer stale (a repeated delivery,
    or the sweep's copy); a survey deleted since does nothing."""
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        return False
    services.analytics_rebuild(survey=survey, if_stale=True)
    return True


@shared_task(name=ANALYTICS_SWEEP, acks_late=True, **RETRY)
def analytics_sweep() -> dict[str, int]:
    """Queue again lost rebuilds of stale stores, and first builds of open surveys' missing
    stores (beat, every few minutes)."""
    return asdict(services.analytics_sweep())
