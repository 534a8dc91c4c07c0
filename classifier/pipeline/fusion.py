"""The two-view model: a linear SVM on TF-IDF and a kernel SVM on sentence embeddings.

With an encoder (:attr:`.features.FeatureConfig.encoder`), the feature union ends with a dense
block: the sentence embedding of the text and of its leading clause (:func:`leading_clause`),
side by side. :class:`LateFusion` fits a linear SVM on the TF-IDF columns and an RBF SVM on the
embedding columns, and adds their decision scores, each divided by its spread in the training
run's out-of-fold scores, the kernel view's times ``weight``. Training picks ``weight`` (and C)
by the calibrated out-of-fold log-loss of its grouped cross-validation, as it picks C alone for
the TF-IDF model; the fused scores are then temperature-scaled like any other.

Appending the embeddings to the TF-IDF columns of one linear model added almost nothing under
occupation-grouped CV; a separate kernel model on them, fused late, did (bench/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone

#: Where a task statement's leading clause ends: the first comma, semicolon, colon or opening
#: parenthesis (ASCII or full-width), or the first " to ", " for ", " in " or " of ".
_CLAUSE_END = re.compile(r"[,;:(，；：（、]| to | for | in | of ")


def leading_clause(text: str) -> str:
    """Return the text up to its first clause break ("Direct actors, ..." -> "Direct actors")."""
    head = _CLAUSE_END.split(str(text), maxsplit=1)[0].strip()
    return head or str(text)


@dataclass(frozen=True)
class Fusion:
    """How the two views' decision scores are added: ``weight`` and each view's spread."""

    weight: float
    scales: tuple[float, float]


def spread(scores: np.ndarray) -> float:
    """The standard deviation of a score matrix (1.0 when it is constant)."""
    value = float(np.std(scores))
    return value if value > 1e-12 else 1.0


def split_views(x: Any, dense_columns: int) -> tuple[Any, np.ndarray]:
    """Split features into (TF-IDF columns, dense embedding columns)."""
    cut = x.shape[1] - dense_columns
    if sparse.issparse(x):
        x = x.tocsr()
        return x[:, :cut], np.asarray(x[:, cut:].toarray(), dtype=np.float64)
    x = np.asarray(x)
    return x[:, :cut], np.asarray(x[:, cut:], dtype=np.float64)


class LateFusion(ClassifierMixin, BaseEstimator):
    """A linear model on the TF-IDF columns plus a kernel model on the embedding columns."""

    def __init__(
        self,
        linear: Any = None,
        kernel: Any = None,
        *,
        dense_columns: int = 1024,
        weight: float = 0.5,
        scales: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        self.linear = linear
        self.kernel = kernel
        self.dense_columns = dense_columns
        self.weight = weight
        self.scales = scales

    @property
    def fusion(self) -> Fusion:
        return Fusion(float(self.weight), (float(self.scales[0]), float(self.scales[1])))

    def fit(self, x: Any, y: Any, sample_weight: np.ndarray | None = None) -> LateFusion:
        text, dense = split_views(x, self.dense_columns)
        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.linear_ = clone(self.linear).fit(text, y, **extra)
        self.kernel_ = clone(self.kernel).fit(dense, y, **extra)
        self.classes_ = self.linear_.classes_
        return self

    def view_scores(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return the raw decision scores of the (linear, kernel) views."""
        text, dense = split_views(x, self.dense_columns)
        return (
            np.asarray(self.linear_.decision_function(text), dtype=float),
            np.asarray(self.kernel_.decision_function(dense), dtype=float),
        )

    def decision_function(self, x: Any, readable: np.ndarray | None = None) -> np.ndarray:
        """Fused scores; rows not ``readable`` by the TF-IDF view get the kernel view's alone.

        A text in a language (or vocabulary) the TF-IDF view never saw has an all but empty
        TF-IDF row, whose linear scores are the intercepts: the same for every such text. Those
        rows take the kernel view's scores times ``1 + weight`` instead, so their spread matches.
        """
        linear, kernel = self.view_scores(x)
        fused = linear / self.scales[0] + self.weight * kernel / self.scales[1]
        if readable is None:
            return fused
        alone = (1.0 + self.weight) * kernel / self.scales[1]
        mask = np.asarray(readable, dtype=bool).reshape((-1,) + (1,) * (fused.ndim - 1))
        return np.where(mask, fused, alone)

    def predict(self, x: Any) -> np.ndarray:
        scores = self.decision_function(x)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        labels: np.ndarray = np.asarray(self.classes_)[index]
        return labels
