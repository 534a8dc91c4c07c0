"""A model version measured on the audit samples: the human-coded answers no model trains on.

The cross-validated metrics describe the training data; these describe the surveys' own
answers. Activating a version that does worse here than the active one needs confirmation.
"""

from __future__ import annotations

from typing import Any

from classifier import pipeline
from classifier.models import Classification, ModelVersion
from classifier.training.selectors import model_version_load
from surveys.statistics.estimators import wilson_interval


def audit_holdout(*, codebook_id: int) -> tuple[list[str], list[list[str]]]:
    """Texts and human labels of every coded audit item of the codebook (all surveys)."""
    rows = Classification.objects.filter(
        codebook_id=codebook_id, audit=True, source=Classification.Source.CODER
    ).values_list("answer__text", "labels")
    return [text for text, _ in rows], [sorted(labels) for _, labels in rows]


def _proportion(hits: int, n: int) -> dict[str, Any]:
    interval = wilson_interval(hits, n) if n else None
    return {
        "n": n,
        "estimate": hits / n if n else None,
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
    }


def model_audit_metrics(
    model: pipeline.TextClassifier, *, codebook_id: int, threshold: float
) -> dict[str, Any]:
    """Accuracy on the coded audit items, and precision of those at or above `threshold`."""
    texts, truth = audit_holdout(codebook_id=codebook_id)
    if not texts:
        return {"n": 0, "accuracy": _proportion(0, 0), "precision": _proportion(0, 0)}
    predictions = model.predict(texts)
    correct = [sorted(p.labels) == t for p, t in zip(predictions, truth, strict=True)]
    auto = [c for p, c in zip(predictions, correct, strict=True) if p.confidence >= threshold]
    return {
        "n": len(texts),
        "accuracy": _proportion(sum(correct), len(correct)),
        "precision": _proportion(sum(auto), len(auto)),
        "coverage": len(auto) / len(texts),
    }


def model_version_audit_metrics(*, version: ModelVersion, refresh: bool = False) -> dict[str, Any]:
    """The version's audit metrics, measured now (and stored) unless stored on this audit size."""
    size = Classification.objects.filter(
        codebook_id=version.codebook_id, audit=True, source=Classification.Source.CODER
    ).count()
    stored = version.metrics.get("audit")
    if stored and stored.get("n") == size and not refresh:
        return dict(stored)
    model = model_version_load(version=version)
    metrics = model_audit_metrics(
        model, codebook_id=version.codebook_id, threshold=version.threshold
    )
    version.metrics = {**version.metrics, "audit": metrics}
    ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics)
    return metrics


def version_worse_than_active(*, version: ModelVersion) -> str:
    """Why activating `version` needs confirmation ("" when it does not do worse on the audit)."""
    active = ModelVersion.objects.filter(codebook_id=version.codebook_id, is_active=True).first()
    if active is None or active.pk == version.pk:
        return ""
    mine = model_version_audit_metrics(version=version)
    theirs = model_version_audit_metrics(version=active)
    if not mine["n"]:
        return ""
    reasons = []
    for key in ("accuracy", "precision"):
        new, old = mine[key]["estimate"], theirs[key]["estimate"]
        if new is not None and old is not None and new < old:
            reasons.append(f"{key} on the audit sample {new:.3f} < {old:.3f} ({active})")
    return "; ".join(reasons)
