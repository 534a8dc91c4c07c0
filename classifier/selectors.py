"""Read-side functions of the classifier: active models, training data, review queues, agreement."""

from __future__ import annotations

import csv
import itertools
import logging
import math
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from classifier import agreement, pipeline
from classifier.errors import ModelReferenceError, NoActiveModel, TrainingDataError
from classifier.models import Classification, Codebook, HumanLabel, ModelVersion
from surveys.core import access

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


@dataclass
class TrainingData:
    texts: list[str] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)

    def add(self, source: str, texts: Sequence[str], labels: Sequence[Any]) -> None:
        self.texts.extend(texts)
        self.labels.extend(labels)
        self.sources[source] = self.sources.get(source, 0) + len(texts)


def _label_column(path: Path) -> str:
    """'labels' when the CSV has that column (multi-label corpora), else 'label'."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError):
        return "label"  # the pipeline reader reports the problem with its row and byte
    return "labels" if "labels" in [h.strip() for h in header] else "label"


def _read_codebook_csv(
    *,
    codebook: Codebook,
    path: Path,
    text_column: str,
    label_column: str | None,
    check_counts: bool,
) -> tuple[list[str], list[Any]]:
    """Read one labelled CSV and check that every label is one of the codebook's codes."""
    texts, labels = pipeline.read_labelled_csv(
        path,
        text_column=text_column,
        label_column=label_column or _label_column(path),
        multilabel=codebook.multilabel,
        check_label_counts=check_counts,
    )
    codes = set(codebook.categories.values_list("code", flat=True))
    for row, label in enumerate(labels, start=1):
        for code in label if codebook.multilabel else (label,):
            if code not in codes:
                raise TrainingDataError(
                    f"{path.name}: row {row}: {code!r} is not a code of codebook "
                    f"{codebook.slug!r} (codes: {', '.join(sorted(codes))})"
                )
    return texts, labels


def codebook_training_data(
    *,
    codebook: Codebook,
    csv_path: Path | None = None,
    text_column: str = "text",
    label_column: str | None = None,
) -> TrainingData:
    """Texts and labels to train `codebook` on: a given CSV, else its seed corpus + human labels.

    Raises TrainingDataError (unknown code, no data) or pipeline.CsvError (unreadable CSV).
    """
    data = TrainingData()
    if csv_path is not None:
        texts, labels = _read_codebook_csv(
            codebook=codebook,
            path=csv_path,
            text_column=text_column,
            label_column=label_column,
            check_counts=True,
        )
        data.add(csv_path.name, texts, labels)
        return data
    seed_dir = Path(settings.EXPOSURE_SEED_DIR) / codebook.slug
    for path in sorted(seed_dir.glob("*.csv")):
        # Label counts are checked on the combined data: a code rare in one language is fine.
        texts, labels = _read_codebook_csv(
            codebook=codebook,
            path=path,
            text_column="text",
            label_column=None,
            check_counts=False,
        )
        data.add(f"seed:{path.name}", texts, labels)
    texts, labels = [], []
    for text, codes in Classification.objects.filter(
        codebook=codebook, source=Classification.Source.CODER
    ).values_list("answer__text", "labels"):
        if not text.strip():
            continue
        if codebook.multilabel:
            labels.append(tuple(codes))
        elif codes:
            labels.append(codes[0])
        else:
            continue
        texts.append(text)
    if texts:
        data.add("human labels", texts, labels)
    if not data.texts:
        raise TrainingDataError(
            f"no training data for codebook {codebook.slug!r}: no seed corpus in {seed_dir} "
            "and no human labels"
        )
    return data


def user_reviews_all(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` sees every classification, not only those assigned to them."""
    return bool(user.is_superuser or user.has_perm("classifier.review_all"))


def classifications_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Classification]:
    """Classifications `user` may see and code.

    Everything for superusers and holders of `classifier.review_all`; every row of the surveys
    they own or edit; and, on surveys where their role still allows coding, the rows assigned
    to them.
    """
    queryset = Classification.objects.select_related(
        "answer", "answer__question", "codebook", "model_version"
    )
    if user_reviews_all(user=user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    managed = access.surveys_for(user=user, permission="edit")
    coding = access.surveys_for(user=user, permission="code")
    return queryset.filter(
        Q(answer__response__survey__in=managed)
        | Q(assignments__coder=user, answer__response__survey__in=coding)
    ).distinct()


def user_codes_anything(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` reaches the review queue at all (a coding role or review_all)."""
    return user_reviews_all(user=user) or access.surveys_for(user=user, permission="code").exists()


@dataclass(frozen=True)
class PairAgreement:
    coder_a: str
    coder_b: str
    n: int
    kappa: float
    percent: float


@dataclass(frozen=True)
class Agreement:
    codebook: Codebook
    coders: list[str]
    pairs: list[PairAgreement]
    alpha: float
    alpha_units: int
    model_n: int
    model_kappa: float
    model_accuracy: float


def _nominal(labels: Sequence[str]) -> str:
    # A multi-label coding is one nominal value: the set of its codes.
    return ";".join(sorted(labels))


def codebook_agreement(*, codebook: Codebook) -> Agreement:
    """Agreement between coders (pairwise kappa, alpha) and between the model and coders."""
    codings: dict[int, dict[str, str]] = defaultdict(dict)
    names: dict[int, str] = {}
    for label in HumanLabel.objects.filter(classification__codebook=codebook).select_related(
        "coder"
    ):
        names[label.coder_id] = label.coder.get_username()
        codings[label.coder_id][str(label.classification_id)] = _nominal(label.labels)
    coder_ids = sorted(names, key=lambda pk: names[pk])
    pairs = []
    for a, b in itertools.combinations(coder_ids, 2):
        shared = sorted(codings[a].keys() & codings[b].keys())
        first = [codings[a][unit] for unit in shared]
        second = [codings[b][unit] for unit in shared]
        pairs.append(
            PairAgreement(
                names[a],
                names[b],
                len(shared),
                agreement.cohen_kappa(first, second),
                agreement.percent_agreement(first, second),
            )
        )
    units = sorted({unit for coder in coder_ids for unit in codings[coder]})
    matrix = [[codings[coder].get(unit) for unit in units] for coder in coder_ids]
    pairable = sum(1 for j in range(len(units)) if sum(row[j] is not None for row in matrix) > 1)
    alpha = agreement.krippendorff_alpha_nominal(matrix) if len(coder_ids) > 1 else math.nan
    # Model vs coder: the model's own output against the final human coding of each row.
    model, human = [], []
    for model_labels, labels in Classification.objects.filter(
        codebook=codebook, source=Classification.Source.CODER, model_version__isnull=False
    ).values_list("model_labels", "labels"):
        model.append(_nominal(model_labels))
        human.append(_nominal(labels))
    return Agreement(
        codebook=codebook,
        coders=[names[pk] for pk in coder_ids],
        pairs=pairs,
        alpha=alpha,
        alpha_units=pairable,
        model_n=len(model),
        model_kappa=agreement.cohen_kappa(model, human),
        model_accuracy=agreement.percent_agreement(model, human),
    )
