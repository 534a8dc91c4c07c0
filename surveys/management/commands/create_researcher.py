import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from surveys.core import access
from surveys.definitions.services import survey_make_owner
from surveys.management.commands.survey_import import DEFAULT_SURVEY
from surveys.models import Survey

# Codebooks, model versions and classifier jobs belong to no survey, so survey roles do not
# cover them: this group holds the Django permissions to manage them.
RESEARCHERS_GROUP = "Researchers"
# The apps whose models researchers manage through Django's own permissions.
RESEARCHER_APPS = ("classifier",)


def _researchers_group() -> Group:
    group, _created = Group.objects.get_or_create(name=RESEARCHERS_GROUP)
    group.permissions.add(*Permission.objects.filter(content_type__app_label__in=RESEARCHER_APPS))
    return group


def _default_slug() -> str:
    return str(json.loads(DEFAULT_SURVEY.read_text(encoding="utf-8"))["slug"])


class Command(BaseCommand):
    help = (
        "Create a researcher account once (staff, not a superuser, in the Researchers group that "
        "manages codebooks and classifier models), make it an owner of the default survey and "
        "print its credentials; idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="researcher")
        parser.add_argument(
            "--credentials-file",
            default=str(Path(settings.VAR_DIR) / "researcher-credentials.txt"),
            help="Where the generated password is kept (readable by the owner only).",
        )
        parser.add_argument(
            "--owner-of",
            default=None,
            metavar="SLUG",
            help="The survey this account owns (default: the shipped default survey, if imported).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        path = Path(options["credentials_file"])
        slug = options["owner_of"]
        survey = Survey.objects.filter(slug=slug or _default_slug()).first()
        if slug and survey is None:
            raise CommandError(f"No survey with the slug {slug!r}.")
        with transaction.atomic():
            user, password = self._account(username, path)
            owned = self._own(user, survey)
        self.stdout.write(
            f"Researcher account: username {username!r}, password {password!r} "
            f"(saved in {path}; sign in at /admin/)"
        )
        if owned is not None:
            self.stdout.write(f"It is an owner of the survey {owned!r}.")

    def _account(self, username: str, path: Path) -> tuple[Any, str]:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        password = None
        if path.exists():
            saved_user, _, saved_password = path.read_text().strip().partition(":")
            if saved_user == username and user and user.check_password(saved_password):
                password = saved_password
        if user is None:
            user = user_model(username=username)
        # A researcher works through survey roles (surveys.core.access), not as a superuser:
        # operators who need one create it with `manage.py createsuperuser`.
        user.is_staff = True
        user.is_superuser = False
        if password is None:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{username}:{password}\n")
            path.chmod(0o600)
        user.save()
        user.groups.add(_researchers_group())
        return user, password

    def _own(self, user: Any, survey: Survey | None) -> str | None:
        if survey is None:
            return None
        if access.role_of(user=user, survey=survey) != access.Role.OWNER:
            survey_make_owner(survey=survey, user=user, reason="researcher account set up")
        return survey.slug
