"""The trained model object and its per-text predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .calibration import PlattScaling, TemperatureScaling, as_score_matrix
from .fusion import LateFusion
from .ood import (
    BELOW_THRESHOLD,
    NO_VERIFIED_THRESHOLD,
    DomainProfile,
    unreadable_reasons,
    word_vocabulary,
)
from .thresholds import NO_THRESHOLD


@dataclass(frozen=True)
class Prediction:
    """One coded text: labels, calibrated confidence, routing decision and probabilities.

    ``reason`` says why a text goes to review (None when auto-coded): ``empty``,
    ``language-not-trained``, ``unknown-vocabulary`` (see :mod:`.ood`), ``no-threshold`` (the
    model has no qualifying threshold) or ``below-threshold``.
    """

    labels: tuple[str, ...]
    confidence: float
    auto_coded: bool
    probabilities: dict[str, float] = field(default_factory=dict)
    reason: str | None = None


def class_scores(
    estimator: Any, x: Any, n_classes: int, multilabel: bool, readable: np.ndarray | None = None
) -> np.ndarray:
    """Return an (n, n_classes) decision-score matrix, filling classes the estimator never saw.

    ``readable`` (two-view models only) marks the texts the TF-IDF view can read.
    """
    if readable is None:
        raw = np.asarray(estimator.decision_function(x), dtype=float)
    else:
        raw = np.asarray(estimator.decision_function(x, readable=readable), dtype=float)
    if multilabel:
        return raw.reshape(raw.shape[0], -1)
    seen = np.asarray(estimator.classes_, dtype=np.int64)
    scores = as_score_matrix(raw)
    if len(seen) == n_classes:
        return scores
    full = np.full((scores.shape[0], n_classes), scores.min(initial=0.0) - 10.0)
    full[:, seen] = scores
    return full


def decide(proba: np.ndarray, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (decisions, confidence) for a probability matrix.

    Single-label: decisions are arg-max class ids and confidence is the top probability.
    Multi-label: decisions are the 0/1 matrix ``p >= 0.5`` and confidence is the minimum over
    labels of ``max(p, 1 - p)``, i.e. how sure the model is of its least certain yes/no call.
    """
    if multilabel:
        decisions = (proba >= 0.5).astype(np.int8)
        confidence = np.maximum(proba, 1.0 - proba).min(axis=1)
        return decisions, confidence
    return proba.argmax(axis=1), proba.max(axis=1)


class TextClassifier:
    """A fitted text classifier with calibrated probabilities and a confidence threshold."""

    def __init__(
        self,
        features: Any,
        estimator: Any,
        calibrator: TemperatureScaling | PlattScaling,
        *,
        classes: Sequence[str],
        multilabel: bool,
        threshold: float,
        metadata: dict[str, Any] | None = None,
        profile: DomainProfile | None = None,
    ) -> None:
        self.features = features
        self.estimator = estimator
        self.calibrator = calibrator
        self.classes: tuple[str, ...] = tuple(classes)
        self.multilabel = bool(multilabel)
        self.threshold = float(threshold)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.profile = profile
        self._vocabulary: frozenset[str] | None = None

    def __repr__(self) -> str:
        kind = "multi-label" if self.multilabel else "single-label"
        return f"TextClassifier({kind}, classes={self.classes!r}, threshold={self.threshold:.4f})"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return calibrated probabilities, one row per text and one column per class."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, len(self.classes)))
        x = self.features.transform(texts)
        readable = None
        if isinstance(self.estimator, LateFusion):
            # What the guard cannot read, the TF-IDF view cannot either: the embeddings decide.
            readable = np.array([r is None for r in self._unreadable(texts)], dtype=bool)
        scores = class_scores(self.estimator, x, len(self.classes), self.multilabel, readable)
        return self.calibrator.probabilities(scores)

    def _unreadable(self, texts: Sequence[str]) -> list[str | None]:
        """The guard's reason per text when the model cannot read it, else None."""
        if self.profile is None:
            return [None] * len(texts)
        if self._vocabulary is None:
            self._vocabulary = word_vocabulary(self.features)
        return unreadable_reasons(texts, self.profile, self._vocabulary)

    def review_reasons(self, texts: Sequence[str], confidence: np.ndarray) -> list[str | None]:
        """Why each text goes to review (None: auto-coded); the guard comes before confidence."""
        unreadable = self._unreadable(texts)
        low = NO_VERIFIED_THRESHOLD if self.threshold >= NO_THRESHOLD else BELOW_THRESHOLD
        return [
            r if r is not None else (low if c < self.threshold else None)
            for r, c in zip(unreadable, confidence.tolist(), strict=True)
        ]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Return one :class:`Prediction` per text (vectorised over the whole batch)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        proba = self.predict_proba(texts)
        decisions, confidence = decide(proba, self.multilabel)
        reasons = self.review_reasons(texts, confidence)
        classes = self.classes
        proba_list = proba.tolist()
        out: list[Prediction] = []
        for i, row in enumerate(proba_list):
            if self.multilabel:
                labels = tuple(c for c, d in zip(classes, decisions[i], strict=True) if d)
            else:
                labels = (classes[int(decisions[i])],)
            out.append(
                Prediction(
                    labels=labels,
                    confidence=float(confidence[i]),
                    auto_coded=reasons[i] is None,
                    probabilities=dict(zip(classes, row, strict=True)),
                    reason=reasons[i],
                )
            )
        return out
