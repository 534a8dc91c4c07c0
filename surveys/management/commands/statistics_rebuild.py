"""Rebuild the analytics store (one row per complete response) from the answers.

    python manage.py statistics_rebuild [--survey SLUG] [--if-missing]

Every survey's store, or one survey's; with --if-missing only those without a store or with a
stale one (`make setup` runs it so). Statistics read the answers while a store is missing or
stale, so this is also how a store comes to exist for a survey opened before the store did.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.analytics.services import analytics_rebuild
from surveys.models import Response, Survey


class Command(BaseCommand):
    help = "Rebuild the analytics store of every survey (or of one) from its answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--survey", help="only this survey's slug")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="only surveys without a store, or with a stale one",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        surveys = Survey.objects.order_by("pk")
        if options["survey"]:
            surveys = surveys.filter(slug=options["survey"])
            if not surveys.exists():
                raise CommandError(f"No survey with slug {options['survey']!r}.")
        if options["if_missing"]:
            surveys = surveys.exclude(analytics__stale=False)
        for survey in surveys:
            started = time.perf_counter()
            store = analytics_rebuild(survey=survey)
            rows = Response.objects.filter(survey=survey, status=Response.Status.COMPLETE).count()
            self.stdout.write(
                f"{survey.slug}: {rows} complete responses in {store.table} "
                f"({len(store.layout['columns'])} columns) in "
                f"{time.perf_counter() - started:.1f} s."
            )
