"""Read side of model versions: which version is active, and its fitted model, loaded once."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from pathlib import Path

from django.conf import settings

from classifier import pipeline
from classifier.errors import ModelReferenceError, NoActiveModel
from classifier.models import Codebook, ModelVersion

logger = logging.getLogger(__name__)

# One process keeps the models it used last, keyed by version id and checksum: loading an artifact
# costs far more than predicting a batch, and a version's file never changes once written. Least
# recently used first out, so more active codebooks than places costs one load per switch, not a
# reload of every model.
_MODEL_CACHE: OrderedDict[tuple[int, str], pipeline.TextClassifier] = OrderedDict()
_MODEL_CACHE_SIZE = 8
_MODEL_LOCK = threading.Lock()


def codebooks_with_active_version() -> list[Codebook]:
    """Codebooks that have an active model version (the ones answers are classified under)."""
    return list(Codebook.objects.filter(versions__is_active=True).distinct())


def codebook_active_version(*, codebook: Codebook) -> ModelVersion | None:
    """The codebook's active model version, or None."""
    return ModelVersion.objects.filter(codebook=codebook, is_active=True).first()


def model_version_path(*, version: ModelVersion) -> Path:
    """Absolute path of a version's artifact (relative paths live under EXPOSURE_MODEL_DIR)."""
    path = Path(version.artifact_path)
    return path if path.is_absolute() else Path(settings.EXPOSURE_MODEL_DIR) / path


def model_version_load(*, version: ModelVersion) -> pipeline.TextClassifier:
    """The version's fitted model, loaded once per process; raises pipeline.ArtifactError."""
    key = (version.pk, version.checksum)
    with _MODEL_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is not None:
            _MODEL_CACHE.move_to_end(key)
    if model is not None:
        return model
    # The checksum is compared with the file's bytes before anything in it is unpickled.
    model = pipeline.load(model_version_path(version=version), expected_sha256=version.checksum)
    with _MODEL_LOCK:
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
    return model


def active_models_load() -> int:
    """Load every active version's model into this process's cache; returns how many loaded.

    A version whose artifact cannot be loaded is skipped: its batches report the error.
    """
    loaded = 0
    for version in ModelVersion.objects.filter(is_active=True).order_by("pk"):
        try:
            model_version_load(version=version)
        except pipeline.ArtifactError as exc:
            logger.warning("model %s not loaded ahead: %s", version.pk, exc)
            continue
        loaded += 1
    return loaded


_VERSION_REF = re.compile(r"^(?P<slug>[-\w]+?)(?::|-v|@v?)(?P<number>\d+)$")


def model_for_reference(*, reference: str) -> tuple[pipeline.TextClassifier, str]:
    """Load a model from an artifact path or a version reference 'slug:N' / 'slug-vN'.

    Returns the model and a description; raises ModelReferenceError or pipeline.ArtifactError.
    """
    path = Path(reference)
    if path.is_file():
        return pipeline.load(path), str(path)
    match = _VERSION_REF.match(reference)
    if match is None:
        raise ModelReferenceError(
            f"{reference!r} is neither an existing model file nor a version such as "
            "'displacement-risk:3'"
        )
    version = ModelVersion.objects.filter(
        codebook__slug=match["slug"], version=int(match["number"])
    ).first()
    if version is None:
        raise ModelReferenceError(
            f"no model version {match['number']} of codebook {match['slug']!r}"
        )
    return model_version_load(version=version), str(version)


def codebook_model(*, codebook: Codebook) -> tuple[pipeline.TextClassifier, ModelVersion]:
    """The codebook's active model and its version; raises NoActiveModel."""
    version = codebook_active_version(codebook=codebook)
    if version is None:
        raise NoActiveModel(f"codebook {codebook.slug!r} has no active model version")
    return model_version_load(version=version), version
