"""Celery plumbing shared by both apps: task names, transient errors, retry policy, publishing.

Imports no app (an import-linter contract keeps it so): settings route and schedule by these
names, task modules register under them, and services publish by name through `publish`, so no
service imports a task module.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

import kombu.exceptions
import redis.exceptions
from celery import Task, current_app
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# The wire names: messages already queued carry these, so they never change with a module's path.
CLASSIFY_BATCH: Final = "classifier.tasks.classify_batch"
CLASSIFIER_SWEEP: Final = "classifier.tasks.sweep"
RETRAIN: Final = "classifier.tasks.retrain"
RECLASSIFY_ALL: Final = "classifier.tasks.reclassify_all"
EXPORT_RUN: Final = "surveys.tasks.export_run"
EXPORTS_SWEEP: Final = "surveys.tasks.exports_sweep"
RESPONSES_PURGE: Final = "surveys.tasks.responses_purge"
ANALYTICS_REBUILD: Final = "surveys.tasks.analytics_rebuild"
ANALYTICS_SWEEP: Final = "surveys.tasks.analytics_sweep"

# Only these are worth a retry: the database or the broker went away for a moment. Anything else
# is a bug or bad data, and retrying it would only repeat the failure.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY: Final[dict[str, Any]] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}

# Publishing to a broker that is down must not fail the request that caused it: the row is in the
# database, and a sweep queues it once the broker is back. RedisError also covers a broker that
# answers but refuses writes (out of memory, MISCONF after a failed AOF write, READONLY replica
# after a failover, LOADING after a restart): the row waits for the sweep all the same.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    redis.exceptions.RedisError,
    ConnectionError,
    TimeoutError,
)


def task_token(task: Task) -> str:
    """The claim token of a running task: its id, which survives Celery retries."""
    # A retry may so take over its own claim; a task run without an id gets a fresh token.
    return task.request.id or uuid.uuid4().hex


def publish(name: str, *args: Any) -> bool:
    """Send task `name` with `args`; log and return False when the broker cannot be reached."""
    app = current_app
    try:
        if app.conf.task_always_eager:
            # send_task ignores eager mode and would reach for a broker: run the task in-process.
            _registered(name).apply_async(args=args)
        else:
            app.send_task(name, args=args)
    except BROKER_ERRORS:
        logger.warning("broker unreachable: %s not queued; the sweep will retry", name)
        return False
    return True


def _registered(name: str) -> Task:
    """The task registered under `name`, importing the autodiscovered task modules if needed."""
    app = current_app
    if name not in app.tasks:
        # A web process imports no task module until asked: autodiscovery runs on this signal.
        app.loader.import_default_modules()
    return app.tasks[name]
