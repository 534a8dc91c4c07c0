"""Estimate category shares of unlabelled answers with prediction-powered inference (PPI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import pipeline
from classifier.management.commands._common import command_errors
from classifier.management.commands.classifier_predict import read_rows
from classifier.pipeline.ppi import ShareEstimate, category_shares
from classifier.training.selectors import model_for_reference


def _share(value: ShareEstimate) -> dict[str, float | None]:
    return {"estimate": value.estimate, "low": value.low, "high": value.high}


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:5.1f}%"


class Command(BaseCommand):
    help = (
        "Category shares of the answers in --csv: the model's labels corrected by a random "
        "audit sample labelled by people (--audit-csv), with 95% intervals, beside the naive "
        "shares of the model's labels."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True, help="a model file or a version slug:N")
        parser.add_argument("--csv", type=Path, required=True, help="unlabelled answers")
        parser.add_argument(
            "--audit-csv",
            type=Path,
            required=True,
            help="a random sample of the same answers with human labels",
        )
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        parser.add_argument("--confidence", type=float, default=0.95)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["confidence"] < 1:
            raise CommandError("--confidence must be between 0 and 1")
        with command_errors():
            model, described = model_for_reference(reference=options["model"])
            if model.multilabel:
                raise CommandError("classifier_estimate supports single-label models only")
            header, rows = read_rows(options["csv"], options["text_column"])
            audit_texts, audit_labels = pipeline.read_labelled_csv(
                options["audit_csv"],
                text_column=options["text_column"],
                label_column=options["label_column"],
                check_label_counts=False,
            )
        if len(audit_texts) < 2:
            raise CommandError("the audit sample needs at least 2 labelled rows")
        index = header.index(options["text_column"])
        predicted = [p.labels[0] for p in model.predict([row[index] for row in rows])]
        predicted_audit = [p.labels[0] for p in model.predict(audit_texts)]
        categories = sorted(set(model.classes) | set(audit_labels))
        shares = category_shares(
            categories,
            predicted,
            predicted_audit,
            audit_labels,
            confidence=options["confidence"],
        )
        result = {
            "categories": {
                code: {"ppi": _share(s["ppi"]), "naive": _share(s["naive"])}
                for code, s in shares.items()
            },
            "model": described,
            "n_unlabelled": len(rows),
            "n_audit": len(audit_texts),
            "confidence": options["confidence"],
            "audit_accuracy": sum(
                p == t for p, t in zip(predicted_audit, audit_labels, strict=True)
            )
            / len(audit_texts),
            "method": "prediction-powered inference (Angelopoulos et al. 2023), CLT interval; "
            "naive: share of the model's labels with a Wilson interval",
        }
        self.stdout.write(self._render(result, as_json=options["json"]))

    def _render(self, result: dict[str, Any], *, as_json: bool) -> str:
        if as_json:
            return json.dumps(result, indent=2, ensure_ascii=False)
        level = f"{100 * result['confidence']:.0f}%"
        lines = [
            f"{result['n_unlabelled']} answers coded by {result['model']}; audit sample "
            f"{result['n_audit']} (model agrees with the audit on "
            f"{100 * result['audit_accuracy']:.1f}%).",
            "",
            f"{'category':<20} {'PPI share':>9}  {level + ' interval':<19} {'naive':>7}",
        ]
        for code, figures in result["categories"].items():
            ppi, naive = figures["ppi"], figures["naive"]
            interval = f"[{_percent(ppi['low'])}, {_percent(ppi['high'])}]"
            lines.append(
                f"{code:<20} {_percent(ppi['estimate']):>9}  {interval:<19} "
                f"{_percent(naive['estimate']):>7}"
            )
        return "\n".join(lines)
