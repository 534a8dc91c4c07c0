"""Model versions: train a codebook's model, record it as a version, make a version active."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from classifier import pipeline
from classifier.models import Codebook, ModelVersion
from classifier.training.data import TrainingData, codebook_training_data
from classifier.training.holdout import model_audit_metrics
from surveys.core.access import audit_record
from surveys.models import AuditEntry


def _metrics(model: pipeline.TextClassifier, sources: dict[str, int]) -> dict[str, Any]:
    meta = model.metadata
    metrics = dict(meta.get("metrics", {}))
    metrics.update(
        {
            "training_size": meta.get("training_size"),
            "label_counts": meta.get("label_counts", {}),
            "sklearn_version": meta.get("sklearn_version"),
            "jieba_version": meta.get("jieba_version"),
            "training_data": meta.get("training_data"),
            "threshold_note": meta.get("threshold_note", ""),
            "sources": sources,
        }
    )
    return metrics


@transaction.atomic
def _model_version_record(
    *,
    codebook: Codebook,
    model: pipeline.TextClassifier,
    data: TrainingData,
    user: User | None,
    audit: dict[str, Any],
) -> ModelVersion:
    """Save `model` as the codebook's next version number and record it (not activated)."""
    model_dir = Path(settings.EXPOSURE_MODEL_DIR)
    model_dir.mkdir(parents=True, exist_ok=True)
    # The codebook row lock serialises version numbering between concurrent trainings.
    Codebook.objects.select_for_update().get(pk=codebook.pk)
    number = (codebook.versions.aggregate(top=Max("version"))["top"] or 0) + 1
    name = f"{codebook.slug}-v{number}.joblib"
    checksum = pipeline.save(model, model_dir / name)
    return ModelVersion.objects.create(
        codebook=codebook,
        version=number,
        artifact_path=name,
        checksum=checksum,
        threshold=float(model.threshold),
        metrics={**_metrics(model, data.sources), "audit": audit},
        training_size=len(data.texts),
        sklearn_version=str(model.metadata.get("sklearn_version", "")),
        trained_from=", ".join(f"{k} ({v})" for k, v in data.sources.items())[:300],
        trained_by=user,
    )


def model_version_train(
    *,
    codebook: Codebook,
    csv_path: Path | None = None,
    text_column: str = "text",
    label_column: str | None = None,
    activate: bool = False,
    user: User | None = None,
) -> ModelVersion:
    """Train, save and record a new version of `codebook`'s model; optionally activate it.

    Trains on `csv_path` if given, else on the seed corpus plus every human label. Raises
    TrainingDataError, pipeline.CsvError or pipeline.TrainingError.
    """
    data = codebook_training_data(
        codebook=codebook, csv_path=csv_path, text_column=text_column, label_column=label_column
    )
    # Training takes seconds to minutes: it runs outside any transaction and lock.
    model = pipeline.train(
        data.texts,
        data.labels,
        multilabel=codebook.multilabel,
        target_precision=codebook.target_precision,
        codebook=codebook.slug,
    )
    # Measured on the surveys' coded audit items, which training never sees (outside the lock).
    audit = model_audit_metrics(model, codebook_id=codebook.pk, threshold=float(model.threshold))
    with transaction.atomic():
        version = _model_version_record(
            codebook=codebook, model=model, data=data, user=user, audit=audit
        )
        if activate:
            model_version_activate(version=version, actor=user)
    return version


@transaction.atomic
def model_version_activate(*, version: ModelVersion, actor: User | None = None) -> ModelVersion:
    """Make `version` its codebook's only active version (the previous one is deactivated).

    Audited: who activated which version, and which one it replaced.
    """
    codebook = Codebook.objects.select_for_update().get(pk=version.codebook_id)
    previous = ModelVersion.objects.filter(codebook=codebook, is_active=True).exclude(pk=version.pk)
    replaced = [str(old) for old in previous]
    previous.update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True
    audit_record(
        actor=actor,
        action=AuditEntry.Action.MODEL,
        summary=f"activated {codebook.slug} v{version.version}"
        + (f" (replacing {', '.join(replaced)})" if replaced else ""),
        details={
            "codebook": codebook.slug,
            "version": version.version,
            "model_version": version.pk,
            "replaced": replaced,
            "threshold": version.threshold,
        },
    )
    return version
