from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from surveys.models import Survey
from surveys.respondent.services import invitations_create


class Command(BaseCommand):
    help = "Create single-use invitation links for a survey and print them (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--survey", required=True, help="the survey's slug")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        survey = Survey.objects.filter(slug=options["survey"]).first()
        if survey is None:
            raise CommandError(f"No survey with slug {options['survey']!r}.")
        if not 1 <= options["count"] <= 100_000:
            raise CommandError("--count must be between 1 and 100000.")
        if not survey.invitation_only:
            self.stderr.write("Note: this survey is open to all; invitations are not required.")
        path = reverse("surveys:landing", args=[survey.slug])
        base = options["base_url"].rstrip("/")
        for token in invitations_create(survey=survey, count=options["count"]):
            self.stdout.write(f"{base}{path}?invitation={token}")
