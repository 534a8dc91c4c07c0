"""Delete unsubmitted responses whose resume link has expired.

    python manage.py responses_purge

Beat runs the same purge once an hour; EXPOSURE_PURGE_UNSUBMITTED=false turns both off.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from surveys.respondent import services


class Command(BaseCommand):
    help = "Delete unsubmitted responses whose resume link has expired."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EXPOSURE_PURGE_UNSUBMITTED:
            self.stdout.write("EXPOSURE_PURGE_UNSUBMITTED is off: nothing deleted.")
            return
        purged = services.responses_purge_unsubmitted()
        self.stdout.write(f"Deleted {purged} unsubmitted responses with an expired resume link.")
