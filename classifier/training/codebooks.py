"""The codebooks Exposure ships: re-installable outside migrations (e.g. after a database flush)."""

from __future__ import annotations

import importlib

from django.apps import apps

# The data migrations hold the frozen texts and question lists; reusing them keeps one copy.
_SHIPPED = importlib.import_module("classifier.migrations.0002_shipped_codebooks")
_EXAMPLES = importlib.import_module("classifier.migrations.0004_workbench_category_examples")
_QUESTIONS = importlib.import_module("classifier.migrations.0005_audit_sample_and_questions")
_TASK_EXPOSURE = importlib.import_module("classifier.migrations.0006_tasks_task_exposure_codebook")
_OCCUPATION = importlib.import_module("classifier.migrations.0008_occupation_isco_codebook")


def codebooks_install() -> None:
    """Create or update the shipped codebooks, their categories and questions (idempotent)."""
    _SHIPPED.add_codebooks(apps, None)
    _TASK_EXPOSURE.add_codebook(apps, None)
    _OCCUPATION.add_codebook(apps, None)
    _EXAMPLES.add_examples(apps, None)
    _QUESTIONS.set_question_codes(apps, None)
