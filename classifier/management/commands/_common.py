"""Shared by the classifier commands: CSV errors as CommandErrors, metrics as text."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError

from classifier import pipeline
from classifier.errors import ClassifierError


@contextmanager
def command_errors() -> Iterator[None]:
    """Turn pipeline and domain errors (bad CSV, unknown code, too few texts) into CommandError."""
    try:
        yield
    except pipeline.CsvError as exc:
        raise CommandError(f"CSV error: {exc.message}") from exc
    except (pipeline.PipelineError, ClassifierError) as exc:
        raise CommandError(str(exc)) from exc


UNREACHED = "not reached (nothing auto-coded)"


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def format_metrics(metrics: dict[str, Any]) -> str:
    """Cross-validated figures as an aligned text report."""
    threshold = metrics.get("threshold")
    reached = metrics.get("threshold_reached", True)
    lines = [
        f"texts: {metrics.get('n')}  folds: {metrics.get('folds')}  "
        f"multi-label: {'yes' if metrics.get('multilabel') else 'no'}",
        f"accuracy:          {_number(metrics.get('accuracy'))}",
        f"macro-F1:          {_number(metrics.get('macro_f1'))}",
        f"Cohen's kappa:     {_number(metrics.get('cohen_kappa'))}",
        f"target precision:  {_number(metrics.get('target_precision'), 2)}",
        f"threshold:         {_number(threshold, 4) if reached else UNREACHED}",
        f"coverage:          {_number(metrics.get('coverage'))}",
        f"realised precision:{_number(metrics.get('realised_precision')):>6}",
        "",
        f"{'class':<20} {'precision':>9} {'recall':>9} {'F1':>9} {'support':>8}",
    ]
    for name, row in (metrics.get("per_class") or {}).items():
        lines.append(
            f"{name:<20} {_number(row.get('precision')):>9} {_number(row.get('recall')):>9} "
            f"{_number(row.get('f1')):>9} {row.get('support', ''):>8}"
        )
    return "\n".join(lines)


def threshold_report(metadata: dict[str, Any]) -> str:
    """Say plainly whether the model's threshold was verified, and on what."""
    status = metadata.get("threshold_status", pipeline.UNVERIFIED)
    note = metadata.get("threshold_note", "")
    if status == "verified":
        figures = metadata.get("in_domain") or {}
        return (
            f"Threshold verified on {figures.get('n')} in-domain rows ({note}): coverage "
            f"{_number(figures.get('coverage'))}, precision {_number(figures.get('precision'))}, "
            f"lower bound {_number(figures.get('precision_lower_bound'))}."
        )
    if status == "none-qualified":
        return f"NO THRESHOLD QUALIFIES: {note}. Every prediction goes to human review."
    return (
        "Threshold UNVERIFIED: chosen on the training corpus only, which is no evidence of "
        "precision on other answers; give --in-domain-csv with labelled rows of the population "
        "to verify one."
    )


def json_safe(value: Any) -> Any:
    """Replace non-finite floats by None so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
