"""The Celery application; configuration lives in Django settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("exposure")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Task modules live in feature packages; their wire names come from config.tasks.
app.autodiscover_tasks(
    [
        "surveys.analytics",
        "surveys.exports",
        "surveys.respondent",
        "classifier.runs",
        "classifier.training",
    ]
)
