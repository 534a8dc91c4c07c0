"""Cross-validate the classification pipeline on a labelled CSV and print its quality figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import pipeline
from classifier.management.commands._common import command_errors, format_metrics, json_safe


class Command(BaseCommand):
    help = (
        "Print cross-validated accuracy, macro-F1, Cohen's kappa, per-class figures, and coverage "
        "and realised precision at the target precision."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", type=Path, required=True)
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--target-precision", type=float, default=0.9)
        parser.add_argument("--multilabel", action="store_true")
        parser.add_argument("--label-separator", default=";")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["target_precision"] < 1:
            raise CommandError("--target-precision must be between 0 and 1")
        if options["folds"] < 2:
            raise CommandError("--folds must be at least 2")
        with command_errors():
            texts, labels = pipeline.read_labelled_csv(
                options["csv"],
                text_column=options["text_column"],
                label_column=options["label_column"],
                multilabel=options["multilabel"],
                label_separator=options["label_separator"],
            )
            evaluation = pipeline.evaluate(
                texts,
                labels,
                multilabel=options["multilabel"],
                target_precision=options["target_precision"],
                folds=options["folds"],
            )
        figures = evaluation.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(json_safe(figures), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(format_metrics(figures))
