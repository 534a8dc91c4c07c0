"""Classify the texts of a CSV with a codebook's active model or a given model."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import pipeline
from classifier.management.commands._common import command_errors
from classifier.models import Codebook
from classifier.training.selectors import codebook_model, model_for_reference

ADDED = ["label", "confidence", "auto_coded", "reason"]


def read_rows(path: Path, text_column: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of `path`, after the pipeline reader has validated the texts."""
    # The pipeline reader reports a missing column, an empty text or a bad byte by row; reading
    # the text column as its own label makes it check just that.
    pipeline.read_labelled_csv(
        path, text_column=text_column, label_column=text_column, check_label_counts=False
    )
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        rows = [row for row in reader if row and any(field.strip() for field in row)]
    return header, rows


class Command(BaseCommand):
    help = (
        "Write the rows of --csv to --out with label, confidence and auto_coded columns, and "
        "for rows sent to review the reason (e.g. below-threshold, language-not-trained)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", type=Path, required=True)
        parser.add_argument("--out", type=Path, required=True)
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--codebook", help="use this codebook's active model")
        source.add_argument(
            "--model", help="a model file, or a version such as displacement-risk:3"
        )
        parser.add_argument("--text-column", default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        with command_errors():
            header, rows = read_rows(options["csv"], options["text_column"])
            if options["codebook"]:
                codebook = Codebook.objects.filter(slug=options["codebook"]).first()
                if codebook is None:
                    raise CommandError(f"no codebook {options['codebook']!r}")
                model, version = codebook_model(codebook=codebook)
                described = str(version)
            else:
                model, described = model_for_reference(reference=options["model"])
        index = header.index(options["text_column"])
        predictions = model.predict([row[index] for row in rows])
        columns = header + [name for name in ADDED if name not in header]
        positions = {name: columns.index(name) for name in ADDED}
        options["out"].parent.mkdir(parents=True, exist_ok=True)
        auto = 0
        with open(options["out"], "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row, prediction in zip(rows, predictions, strict=True):
                out = row + [""] * (len(columns) - len(row))
                out[positions["label"]] = ";".join(prediction.labels)
                out[positions["confidence"]] = f"{prediction.confidence:.4f}"
                out[positions["auto_coded"]] = "true" if prediction.auto_coded else "false"
                out[positions["reason"]] = prediction.reason or ""
                auto += prediction.auto_coded
                writer.writerow(out)
        self.stdout.write(
            self.style.SUCCESS(
                f"Classified {len(rows)} rows with {described}: {auto} auto-coded, "
                f"{len(rows) - auto} for review. Wrote {options['out']}."
            )
        )
