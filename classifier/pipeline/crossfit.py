"""Training with in-domain labelled rows, and a threshold verified on those rows alone.

A threshold chosen by cross-validation on a seed corpus says how precise the model is on that
corpus, not on the answers it will code. With a labelled sample of the target population
(``in_domain_*``) the rule is:

1. the model is trained on the base corpus plus the in-domain rows, the latter with a weight;
2. the in-domain rows are split into grouped folds; for each fold a model is fitted on the base
   corpus and the other in-domain folds and scores the held-out fold (cross-fitting), so every
   in-domain row gets a confidence from a model that never saw it;
3. the threshold is the lowest confidence at which the one-sided ``level`` Clopper-Pearson lower
   bound of the precision among the in-domain rows at or above it reaches the target. If no
   confidence qualifies, the threshold is :data:`.thresholds.NO_THRESHOLD`: nothing is
   auto-coded, and the metadata says so (``threshold_status`` ``"none-qualified"``).

Without in-domain rows, :func:`.training.train` keeps its corpus threshold but marks it
``"unverified"``. The scan over candidate thresholds uses pointwise bounds, so the guarantee is
approximate; the bound still keeps a handful of lucky rows from qualifying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import TrainingError
from .features import build_features
from .folds import group_ids, make_folds
from .fusion import LateFusion
from .model import TextClassifier, class_scores, decide
from .thresholds import NO_THRESHOLD, pick_threshold_lower_bound
from .training import DEFAULT_CONFIG, ModelConfig, fit_classifier, train

VERIFIED = "verified"
NONE_QUALIFIED = "none-qualified"
MIN_IN_DOMAIN = 10


@dataclass(frozen=True)
class InDomain:
    """Labelled rows from the population the model will code, and how much they weigh."""

    texts: Sequence[str]
    labels: Sequence[str]
    weight: float = 3.0
    groups: Sequence[Any] | None = None


def _checked(sample: InDomain) -> None:
    if len(sample.texts) != len(sample.labels):
        raise TrainingError(
            f"got {len(sample.texts)} in-domain texts but {len(sample.labels)} labels"
        )
    if len(sample.texts) < MIN_IN_DOMAIN:
        raise TrainingError(
            f"{len(sample.texts)} in-domain rows; at least {MIN_IN_DOMAIN} are needed to "
            "check a threshold"
        )
    if not sample.weight > 0:
        raise TrainingError("the in-domain weight must be positive")


def _cross_fit(
    model: TextClassifier,
    base: tuple[list[str], list[str]],
    sample: InDomain,
    *,
    config: ModelConfig,
    seed: int,
    folds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (confidence, correct) for every in-domain row."""
    texts, labels = list(sample.texts), [str(y).strip() for y in sample.labels]
    index = {c: j for j, c in enumerate(model.classes)}
    y_in = np.array([index[y] for y in labels], dtype=np.int64)
    y_base = np.array([index[str(y).strip()] for y in base[1]], dtype=np.int64)
    groups = group_ids(texts, sample.groups)
    k = max(2, min(folds, len(np.unique(groups))))
    conf, correct = np.zeros(len(texts)), np.zeros(len(texts), dtype=bool)
    c = float(model.metadata.get("selected_c", config.c_grid[0]))
    fusion = model.estimator.fusion if isinstance(model.estimator, LateFusion) else None
    for tr, te in make_folds(texts, labels, k, seed, groups=groups):
        features = build_features(config.features)
        x = features.fit_transform(base[0] + [texts[i] for i in tr])
        y = np.r_[y_base, y_in[tr]]
        weights = np.r_[np.ones(len(y_base)), np.full(len(tr), sample.weight)]
        clf = fit_classifier(config, c, seed, False, x, y, weights, fusion=fusion)
        x_te = features.transform([texts[i] for i in te])
        proba = model.calibrator.probabilities(class_scores(clf, x_te, len(model.classes), False))
        decisions, confidence = decide(proba, False)
        conf[te], correct[te] = confidence, decisions == y_in[te]
    return conf, correct


def train_in_domain(
    texts: Sequence[str],
    labels: Sequence[str],
    sample: InDomain,
    *,
    target_precision: float = 0.90,
    level: float = 0.95,
    seed: int = 0,
    folds: int = 5,
    codebook: str | None = None,
    config: ModelConfig = DEFAULT_CONFIG,
    groups: Sequence[Any] | None = None,
) -> TextClassifier:
    """Train on base + weighted in-domain rows; verify the threshold on the in-domain rows."""
    _checked(sample)
    base = (list(texts), [str(y) for y in labels])
    in_groups = sample.groups or [f"text:{t}" for t in sample.texts]
    all_groups = list(groups or [f"text:{t}" for t in base[0]]) + [f"in:{g}" for g in in_groups]
    model = train(
        base[0] + list(sample.texts),
        base[1] + [str(y) for y in sample.labels],
        target_precision=target_precision,
        seed=seed,
        folds=folds,
        codebook=codebook,
        config=config,
        groups=all_groups,
        sample_weight=[1.0] * len(base[0]) + [sample.weight] * len(sample.texts),
    )
    conf, correct = _cross_fit(model, base, sample, config=config, seed=seed, folds=folds)
    threshold, bound = pick_threshold_lower_bound(conf, correct, target_precision, level=level)
    _record(model, conf, correct, threshold, bound, sample, target_precision, level)
    return model


def _record(
    model: TextClassifier,
    conf: np.ndarray,
    correct: np.ndarray,
    threshold: float,
    bound: float | None,
    sample: InDomain,
    target: float,
    level: float,
) -> None:
    """Put the verified threshold and the evidence for it on the model."""
    auto = conf >= threshold
    reached = threshold < NO_THRESHOLD
    model.threshold = threshold
    model.metadata.update(
        threshold=threshold,
        threshold_reached=reached,
        threshold_status=VERIFIED if reached else NONE_QUALIFIED,
        threshold_note=(
            f"lowest confidence at which the one-sided {level:.0%} lower bound of precision "
            f"among {len(conf)} cross-fitted in-domain rows reaches {target:.2f}"
            if reached
            else f"no confidence level gives a one-sided {level:.0%} lower bound of precision "
            f"of at least {target:.2f} on the {len(conf)} in-domain rows; nothing will be "
            "auto-coded"
        ),
        in_domain={
            "n": len(conf),
            "weight": sample.weight,
            "accuracy": float(correct.mean()),
            "coverage": float(auto.mean()),
            "precision": float(correct[auto].mean()) if auto.any() else None,
            "precision_lower_bound": bound,
            "bound": f"one-sided {level:.0%} Clopper-Pearson",
        },
    )
