import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create a researcher account (staff) once and print its credentials; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="researcher")
        parser.add_argument(
            "--credentials-file",
            default=str(Path(settings.VAR_DIR) / "researcher-credentials.txt"),
            help="Where the generated password is kept (readable by the owner only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        path = Path(options["credentials_file"])
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        password = None
        if path.exists():
            saved_user, _, saved_password = path.read_text().strip().partition(":")
            if saved_user == username and user and user.check_password(saved_password):
                password = saved_password
        if password is None:
            password = secrets.token_urlsafe(12)
            if user is None:
                user = user_model(username=username)
            user.is_staff = True
            user.is_superuser = True
            user.set_password(password)
            user.save()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{username}:{password}\n")
            path.chmod(0o600)
        self.stdout.write(
            f"Researcher account: username {username!r}, password {password!r} "
            f"(saved in {path}; sign in at /admin/)"
        )
