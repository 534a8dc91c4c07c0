"""Agreement figures of out-of-fold decisions with the truth (before threshold selection)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)


@dataclass
class Scores:
    """Agreement of out-of-fold decisions with the truth, before threshold selection."""

    correct: np.ndarray  # per item: the decision (label set) equals the truth
    accuracy: float
    macro_f1: float
    kappa: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: dict[str, Any]


def per_class_figures(
    *, classes: tuple[str, ...], p: np.ndarray, r: np.ndarray, f: np.ndarray, s: np.ndarray
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class, as plain floats and ints."""
    return {
        c: {
            "precision": float(p[j]),
            "recall": float(r[j]),
            "f1": float(f[j]),
            "support": int(s[j]),
        }
        for j, c in enumerate(classes)
    }


def multilabel_scores(
    *, y_true: np.ndarray, decisions: np.ndarray, classes: tuple[str, ...]
) -> Scores:
    """Exact-set accuracy, per-label F1 and mean per-label kappa of indicator matrices."""
    kappas = [
        cohen_kappa_score(y_true[:, j], decisions[:, j])
        if len(np.unique(np.r_[y_true[:, j], decisions[:, j]])) > 1
        else 1.0
        for j in range(len(classes))
    ]
    p, r, f, s = precision_recall_fscore_support(y_true, decisions, zero_division=0)
    mcm = multilabel_confusion_matrix(y_true, decisions)
    return Scores(
        correct=(decisions == y_true).all(axis=1),
        accuracy=float(accuracy_score(y_true, decisions)),
        macro_f1=float(f1_score(y_true, decisions, average="macro", zero_division=0)),
        kappa=float(np.mean(kappas)),
        per_class=per_class_figures(classes=classes, p=p, r=r, f=f, s=s),
        confusion_matrix={
            "labels": list(classes),
            "kind": "per-label [[tn, fp], [fn, tp]]",
            "matrix": mcm.tolist(),
        },
    )


def single_label_scores(
    *, y_true: np.ndarray, decisions: np.ndarray, classes: tuple[str, ...]
) -> Scores:
    """Accuracy, macro F1, Cohen's kappa and the confusion matrix of class ids."""
    ids = np.arange(len(classes))
    p, r, f, s = precision_recall_fscore_support(y_true, decisions, labels=ids, zero_division=0)
    return Scores(
        correct=decisions == y_true,
        accuracy=float(accuracy_score(y_true, decisions)),
        macro_f1=float(f1_score(y_true, decisions, labels=ids, average="macro", zero_division=0)),
        kappa=float(cohen_kappa_score(y_true, decisions, labels=ids)),
        per_class=per_class_figures(classes=classes, p=p, r=r, f=f, s=s),
        confusion_matrix={
            "labels": list(classes),
            "kind": "rows: true label, columns: predicted label",
            "matrix": confusion_matrix(y_true, decisions, labels=ids).tolist(),
        },
    )
