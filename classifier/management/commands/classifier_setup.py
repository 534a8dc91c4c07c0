"""Give every shipped codebook an active model: train from its seed corpus where there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from classifier.management.commands._common import command_errors
from classifier.models import Codebook
from classifier.runs.services import classifications_create_missing
from classifier.training.codebooks import codebooks_install
from classifier.training.selectors import codebook_active_version, model_version_path
from classifier.training.services import model_version_train


class Command(BaseCommand):
    help = "Idempotent: train and activate a model for each codebook without an active one."

    def handle(self, *args: Any, **options: Any) -> None:
        trained = 0
        codebooks_install()  # brings back a shipped codebook that was deleted
        for codebook in Codebook.objects.all():
            active = codebook_active_version(codebook=codebook)
            if active and model_version_path(version=active).is_file():
                self.stdout.write(f"{codebook.slug}: {active} is active; nothing to do.")
                continue
            seed = Path(settings.EXPOSURE_SEED_DIR) / codebook.slug
            if not any(seed.glob("*.csv")):
                self.stdout.write(f"{codebook.slug}: no seed corpus in {seed}; skipped.")
                continue
            reason = "its model file is missing" if active else "no active model"
            self.stdout.write(f"{codebook.slug}: {reason}; training from the seed corpus...")
            with command_errors():
                version = model_version_train(codebook=codebook, activate=True)
            trained += 1
            figures = version.metrics
            self.stdout.write(
                self.style.SUCCESS(
                    f"{codebook.slug}: activated {version} ({version.training_size} texts, "
                    f"macro-F1 {figures.get('macro_f1', 0):.3f}, "
                    f"coverage {figures.get('coverage', 0):.2f} "
                    f"at threshold {version.threshold:.3f})."
                )
            )
        if trained:
            queued = classifications_create_missing()
            if queued:
                self.stdout.write(f"Queued {len(queued)} submitted answers for classification.")
