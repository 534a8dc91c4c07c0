"""Train a codebook's next model version, or a standalone model from any labelled CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import pipeline
from classifier.management.commands._common import command_errors, format_metrics
from classifier.models import Codebook
from classifier.training.services import model_version_train


class Command(BaseCommand):
    help = (
        "Train a new model version of --codebook (seed corpus + human labels, or --csv), or with "
        "--csv and --out a standalone model from any labelled CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--codebook", help="slug of the codebook to train a new version of")
        parser.add_argument("--csv", type=Path, help="labelled UTF-8 CSV to train on")
        parser.add_argument("--activate", action="store_true", help="activate the new version")
        parser.add_argument("--out", type=Path, help="standalone mode: where to save the model")
        parser.add_argument("--text-column", default="text")
        parser.add_argument(
            "--label-column", default=None, help="default: 'label' ('labels' for multi-label)"
        )
        parser.add_argument("--target-precision", type=float, default=None)
        parser.add_argument("--multilabel", action="store_true", help="standalone mode")
        parser.add_argument("--label-separator", default=";")

    def handle(self, *args: Any, **options: Any) -> None:
        with command_errors():
            if options["codebook"]:
                self._codebook(options)
            else:
                self._standalone(options)

    def _codebook(self, options: dict[str, Any]) -> None:
        if options["out"]:
            raise CommandError("--out is for standalone models; omit --codebook to use it")
        if options["target_precision"] is not None:
            raise CommandError("a codebook's target precision is set on the codebook (admin)")
        codebook = Codebook.objects.filter(slug=options["codebook"]).first()
        if codebook is None:
            known = ", ".join(Codebook.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no codebook {options['codebook']!r} (codebooks: {known})")
        version = model_version_train(
            codebook=codebook,
            csv_path=options["csv"],
            text_column=options["text_column"],
            label_column=options["label_column"],
            activate=options["activate"],
        )
        self.stdout.write(format_metrics(version.metrics))
        state = "active" if version.is_active else "not active (use --activate)"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nTrained {version} on {version.training_size} texts "
                f"({version.trained_from}): {state}."
            )
        )

    def _standalone(self, options: dict[str, Any]) -> None:
        if not options["csv"] or not options["out"]:
            raise CommandError("give --codebook SLUG, or --csv FILE and --out MODEL_PATH")
        if options["activate"]:
            raise CommandError("--activate needs --codebook")
        texts, labels = pipeline.read_labelled_csv(
            options["csv"],
            text_column=options["text_column"],
            label_column=options["label_column"] or "label",
            multilabel=options["multilabel"],
            label_separator=options["label_separator"],
        )
        target = options["target_precision"]
        if target is not None and not 0 < target < 1:
            raise CommandError("--target-precision must be between 0 and 1")
        model = pipeline.train(
            texts, labels, multilabel=options["multilabel"], target_precision=target or 0.9
        )
        options["out"].parent.mkdir(parents=True, exist_ok=True)
        checksum = pipeline.save(model, options["out"])
        self.stdout.write(format_metrics(model.metadata["metrics"]))
        self.stdout.write(
            self.style.SUCCESS(f"\nSaved {options['out']} (sha256 {checksum[:12]}...).")
        )
