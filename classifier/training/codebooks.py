"""The codebooks Exposure ships: re-installable outside migrations (e.g. after a database flush)."""

from __future__ import annotations

import importlib

from django.apps import apps

# The data migrations hold the frozen texts; reusing them keeps one copy of them.
_SHIPPED = importlib.import_module("classifier.migrations.0002_shipped_codebooks")
_TASK_EXPOSURE = importlib.import_module("classifier.migrations.0003_tasks_task_exposure_codebook")


def codebooks_install() -> None:
    """Create or update the shipped codebooks and their categories (idempotent)."""
    _SHIPPED.add_codebooks(apps, None)
    _TASK_EXPOSURE.add_codebook(apps, None)
