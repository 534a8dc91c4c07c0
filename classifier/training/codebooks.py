"""The codebooks Exposure ships: re-installable outside migrations (e.g. after a database flush)."""

from __future__ import annotations

import importlib

from django.apps import apps

# The data migration holds the frozen texts; reusing it keeps one copy of them.
_SHIPPED = importlib.import_module("classifier.migrations.0002_shipped_codebooks")
_EXAMPLES = importlib.import_module("classifier.migrations.0004_workbench_category_examples")


def codebooks_install() -> None:
    """Create or update the shipped codebooks and their categories (idempotent)."""
    _SHIPPED.add_codebooks(apps, None)
    _EXAMPLES.add_examples(apps, None)
