import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.definitions.transfer import DefinitionError, survey_import

DEFAULT_SURVEY = Path(__file__).resolve().parents[2] / "fixtures" / "default_survey.json"


class Command(BaseCommand):
    help = "Import a survey from a JSON definition (default: the shipped default survey)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default=str(DEFAULT_SURVEY))
        parser.add_argument(
            "--replace", action="store_true", help="Replace a survey with that slug (no responses)."
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing when the slug exists already."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {path}") from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"{path} is not valid UTF-8 JSON: {error}") from error
        from surveys.models import Survey

        slug = definition.get("slug") if isinstance(definition, dict) else None
        if options["if_missing"] and slug and Survey.objects.filter(slug=slug).exists():
            self.stdout.write(f"Survey {slug!r} is already there.")
            return
        try:
            survey = survey_import(definition=definition, replace=options["replace"])
        except DefinitionError as error:
            raise CommandError(
                "The definition cannot be imported:\n- " + "\n- ".join(error.problems)
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported survey {survey.slug!r}: {survey.pages.count()} pages, "
                f"{survey.questions.count()} questions."
            )
        )
