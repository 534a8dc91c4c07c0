"""Celery task of the analytics store: a thin wrapper around its rebuild."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from config.tasks import ANALYTICS_REBUILD, RETRY
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
    """Rebuild the store of survey `survey_id` (a survey deleted since does nothing)."""
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        return False
    services.analytics_rebuild(survey=survey)
    return True
