"""Training, grouped cross-validation, threshold selection and evaluation.

Model: a word + character TF-IDF union (see :mod:`.features`) feeding a linear classifier
(a linear SVM by default, logistic regression optionally; one-vs-rest for multi-label data).
C is chosen from ``ModelConfig.c_grid`` by the calibrated out-of-fold log-loss of the same
cross-validation pass (a small grid, so the optimism this adds to the reported metrics is small).
With a sentence encoder the model has a second view, an RBF SVM on the embeddings, whose scores
are added to the linear ones (:mod:`.fusion`); the same pass picks C and the kernel view's weight
together.
Probabilities are calibrated on out-of-fold decision scores from the same grouped
cross-validation pass that picks the confidence threshold (temperature scaling for single-label,
per-label Platt scaling for multi-label; see :mod:`.calibration`); CalibratedClassifierCV is not
used. The calibration is checked by the test-suite.

Multi-label precision, used for the threshold, is exact-set match: an auto-coded item counts as
correct only when its predicted label set equals the true label set.
"""

from __future__ import annotations

import platform
import sys
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC, LinearSVC

from .calibration import PlattScaling, TemperatureScaling, fit_platt, fit_temperature
from .encoder import encoder_version
from .errors import TrainingError
from .features import FeatureConfig, build_features, encoder_columns
from .folds import Split, group_ids, make_folds
from .fusion import Fusion, LateFusion, split_views, spread
from .metrics import multilabel_scores, single_label_scores
from .model import TextClassifier, class_scores, decide
from .ood import build_profile
from .provenance import data_fingerprint, jieba_version
from .thresholds import NO_THRESHOLD, min_auto_coded, pick_threshold

FORMAT_VERSION = 3
#: Older artifact formats :func:`.artifact.load` still reads (see its notes).
READABLE_FORMATS = (1, 2, 3)
#: How far a threshold chosen on the training corpus alone can be trusted (see :mod:`.crossfit`).
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the classifier; ``c_grid`` values are compared by the CV pass."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    loss: str = "svm"
    c_grid: tuple[float, ...] = (0.3, 1.0)
    # "balanced" raised grouped-CV macro-F1 on the task statements (bench/README.md).
    class_weight: str | None = "balanced"
    #: With an encoder: C of the RBF SVM on the embeddings, and the weights of its scores
    #: against the linear view's compared by the CV pass (see :mod:`.fusion`).
    kernel_c: float = 4.0
    fusion_weights: tuple[float, ...] = (0.25, 0.5, 1.0)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-able dict."""
        d = asdict(self)
        d["features"] = self.features.as_dict()
        d["c_grid"] = list(self.c_grid)
        d["fusion_weights"] = list(self.fusion_weights)
        return d


DEFAULT_CONFIG = ModelConfig()


@dataclass(frozen=True)
class Evaluation:
    """Cross-validated quality figures; arrays hold the out-of-fold predictions behind them.

    Multi-label data: ``accuracy`` is exact-set accuracy, ``macro_f1`` the macro average over
    labels of the per-label F1, ``cohen_kappa`` the mean per-label kappa, ``confusion_matrix``
    holds one ``[[tn, fp], [fn, tp]]`` matrix per label, and ``realised_precision`` is the
    exact-set precision among auto-coded items. ``threshold`` above 1.0 means nothing is
    auto-coded (``threshold_reached`` is then False and ``realised_precision`` is None).
    """

    n: int
    multilabel: bool
    folds: int
    accuracy: float
    macro_f1: float
    cohen_kappa: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: dict[str, Any]
    threshold: float
    threshold_reached: bool
    coverage: float
    realised_precision: float | None
    target_precision: float
    min_auto_coded: int
    log_loss: float
    classes: tuple[str, ...] = ()
    y_true: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    y_pred: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    probabilities: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    confidence: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    correct: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    fold_of: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    _ARRAYS = ("classes", "y_true", "y_pred", "probabilities", "confidence", "correct", "fold_of")

    def as_dict(self) -> dict[str, Any]:
        """Return the summary figures as a JSON-able dict (without the per-item arrays)."""
        return {k: v for k, v in self.__dict__.items() if k not in self._ARRAYS}


@dataclass
class _Encoded:
    texts: list[str]
    classes: tuple[str, ...]
    target: np.ndarray  # class ids (n,) or indicator matrix (n, L)
    strata: list[str]
    folds: int
    groups: np.ndarray
    weights: np.ndarray | None = None


def _checked_inputs(
    *, texts: Sequence[str], labels: Sequence[Any], folds: int
) -> tuple[list[str], list[Any]]:
    """Return texts and labels as lists after checking their shape, the texts and ``folds``."""
    if isinstance(texts, str):
        raise TrainingError("texts must be a sequence of strings, not a single string")
    text_list = list(texts)
    label_list = list(labels)
    if len(text_list) != len(label_list):
        raise TrainingError(f"got {len(text_list)} texts but {len(label_list)} labels")
    if not text_list:
        raise TrainingError("no training data")
    for i, t in enumerate(text_list):
        if not isinstance(t, str) or not t.strip():
            raise TrainingError(f"text at index {i} is empty or not a string")
    if folds < 2:
        raise TrainingError("folds must be at least 2")
    return text_list, label_list


def _encode_label_sets(
    *, labels: list[Any]
) -> tuple[tuple[str, ...], np.ndarray, list[tuple[str, ...]]]:
    """Return (classes, indicator matrix, sorted label set per text) for multi-label data."""
    sets: list[tuple[str, ...]] = []
    for i, lab in enumerate(labels):
        if isinstance(lab, str):
            raise TrainingError(
                f"multi-label labels must be sequences of strings; index {i} is a string"
            )
        sets.append(tuple(sorted({str(x).strip() for x in lab if str(x).strip()})))
    classes = tuple(sorted({c for s in sets for c in s}))
    if not classes:
        raise TrainingError("no labels assigned to any text")
    index = {c: j for j, c in enumerate(classes)}
    target = np.zeros((len(labels), len(classes)), dtype=np.int64)
    for i, s in enumerate(sets):
        for c in s:
            target[i, index[c]] = 1
    return classes, target, sets


def _label_group_counts(
    *, classes: tuple[str, ...], target: np.ndarray, groups: np.ndarray
) -> dict[str, int]:
    """Per label, the smaller of its distinct texts with and without it (both must be >= 2)."""
    counts: dict[str, int] = {}
    for j, c in enumerate(classes):
        pos = len(set(groups[target[:, j] == 1].tolist()))
        neg = len(set(groups[target[:, j] == 0].tolist()))
        if pos < 2:
            raise TrainingError(
                f"label {c!r} is assigned to {pos} distinct text(s); at least 2 are needed"
            )
        if neg < 2:
            raise TrainingError(
                f"label {c!r} is assigned to (almost) every text; at least 2 texts without "
                "it are needed"
            )
        counts[c] = min(pos, neg)
    return counts


def _encode_classes(*, labels: list[Any]) -> tuple[tuple[str, ...], np.ndarray, list[str]]:
    """Return (classes, class id per text, stripped label per text) for single-label data."""
    str_labels = []
    for i, lab in enumerate(labels):
        if not isinstance(lab, str) or not lab.strip():
            raise TrainingError(f"label at index {i} is empty or not a string: {lab!r}")
        str_labels.append(lab.strip())
    classes = tuple(sorted(set(str_labels)))
    if len(classes) < 2:
        raise TrainingError(
            f"only one class ({classes[0]!r}) in the training data; at least 2 are needed"
        )
    index = {c: j for j, c in enumerate(classes)}
    target = np.array([index[c] for c in str_labels], dtype=np.int64)
    return classes, target, str_labels


def _class_group_counts(
    *, classes: tuple[str, ...], target: np.ndarray, groups: np.ndarray
) -> dict[str, int]:
    """Per class, its number of distinct texts (each must be >= 2)."""
    counts = {c: len(set(groups[target == j].tolist())) for j, c in enumerate(classes)}
    few = {c: k for c, k in counts.items() if k < 2}
    if few:
        detail = ", ".join(f"{c!r} ({k})" for c, k in sorted(few.items()))
        raise TrainingError(
            "every class needs at least 2 distinct example texts for cross-validation; "
            f"too few for: {detail}"
        )
    return counts


def _encode(
    texts: Sequence[str],
    labels: Sequence[Any],
    multilabel: bool,
    folds: int,
    groups: Sequence[Any] | None = None,
) -> _Encoded:
    """Validate inputs, encode labels and choose the number of folds."""
    text_list, label_list = _checked_inputs(texts=texts, labels=labels, folds=folds)
    if groups is not None and len(groups) != len(text_list):
        raise TrainingError(f"got {len(text_list)} texts but {len(groups)} groups")
    groups_arr = group_ids(text_list, groups)
    strata: list[str]
    if multilabel:
        classes, target, sets = _encode_label_sets(labels=label_list)
        counts = _label_group_counts(classes=classes, target=target, groups=groups_arr)
        strata = ["|".join(s) for s in sets]
    else:
        classes, target, strata = _encode_classes(labels=label_list)
        counts = _class_group_counts(classes=classes, target=target, groups=groups_arr)
    n_groups = len(set(groups_arr.tolist()))
    k = max(2, min(folds, min(counts.values()), n_groups))
    return _Encoded(text_list, classes, target, strata, k, groups_arr)


def _class_weight(config: ModelConfig, y: np.ndarray, multilabel: bool) -> Any:
    """Return the class_weight argument; "sqrt" is the square root of "balanced" weights."""
    if config.class_weight != "sqrt":
        return config.class_weight
    if multilabel:
        return "balanced"
    ids, counts = np.unique(y, return_counts=True)
    weights = np.sqrt(len(y) / (len(ids) * counts))
    return {int(i): float(w) for i, w in zip(ids, weights, strict=True)}


def _build_classifier(
    config: ModelConfig, c: float, seed: int, multilabel: bool, class_weight: Any
) -> Any:
    """Return an unfitted linear classifier for one value of C."""
    if config.loss == "logistic":
        base: Any = LogisticRegression(
            C=c, class_weight=class_weight, max_iter=2000, random_state=seed
        )
    elif config.loss == "svm":
        base = LinearSVC(C=c, class_weight=class_weight, random_state=seed, max_iter=5000)
    else:
        raise ValueError(f"unknown loss {config.loss!r}")
    if multilabel:
        return OneVsRestClassifier(base, n_jobs=1)
    return base


def _build_kernel(config: ModelConfig, multilabel: bool, class_weight: Any) -> Any:
    """Return an unfitted RBF SVM for the embedding view."""
    base = SVC(C=config.kernel_c, kernel="rbf", gamma="scale", class_weight=class_weight)
    return OneVsRestClassifier(base, n_jobs=1) if multilabel else base


def fit_classifier(
    config: ModelConfig,
    c: float,
    seed: int,
    multilabel: bool,
    x: Any,
    y: Any,
    weights: np.ndarray | None = None,
    fusion: Fusion | None = None,
) -> Any:
    """Fit one classifier quietly (convergence / constant-label warnings are expected).

    With an encoder the classifier is a :class:`.fusion.LateFusion` of the linear model and the
    kernel model, adding their scores as ``fusion`` says (weight 0.5, unit scales without it).
    """
    class_weight = _class_weight(config, y, multilabel)
    clf = _build_classifier(config, c, seed, multilabel, class_weight)
    columns = encoder_columns(config.features)
    if columns:
        how = fusion or Fusion(0.5, (1.0, 1.0))
        clf = LateFusion(
            clf,
            _build_kernel(config, multilabel, class_weight),
            dense_columns=columns,
            weight=how.weight,
            scales=how.scales,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        if weights is None:
            clf.fit(x, y)
        else:
            clf.fit(x, y, sample_weight=weights)
    return clf


@dataclass
class _CrossValidated:
    scores: np.ndarray
    c: float
    fold_of: np.ndarray
    splits: list[Split]
    c_scores: dict[float, float]
    fusion: Fusion | None = None
    fusion_scores: dict[str, float] = field(default_factory=dict)


def _calibrate(
    scores: np.ndarray, target: np.ndarray, multilabel: bool
) -> TemperatureScaling | PlattScaling:
    return fit_platt(scores, target) if multilabel else fit_temperature(scores, target)


def _cv_loss(proba: np.ndarray, target: np.ndarray, multilabel: bool) -> float:
    eps = 1e-12
    if multilabel:
        p = np.clip(proba, eps, 1 - eps)
        return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
    return float(log_loss(target, np.clip(proba, eps, 1.0), labels=np.arange(proba.shape[1])))


def _cross_validate(
    enc: _Encoded, multilabel: bool, seed: int, config: ModelConfig
) -> _CrossValidated:
    """Compute out-of-fold decision scores for every C in the grid and keep the best C."""
    splits = make_folds(enc.texts, enc.strata, enc.folds, seed, groups=enc.groups)
    n, k = len(enc.texts), len(enc.classes)
    grid = tuple(config.c_grid)
    scores = {c: np.zeros((n, k)) for c in grid}
    fold_of = np.full(n, -1, dtype=np.int64)
    columns = encoder_columns(config.features)
    kernel = np.zeros((n, k))
    for f, (tr, te) in enumerate(splits):
        feats = build_features(config.features)
        x_tr = feats.fit_transform([enc.texts[i] for i in tr])
        x_te = feats.transform([enc.texts[i] for i in te])
        fold_of[te] = f
        w = None if enc.weights is None else enc.weights[tr]
        if columns:
            (x_tr, dense_tr), (x_te, dense_te) = (
                split_views(x_tr, columns),
                split_views(x_te, columns),
            )
            kernel[te] = _kernel_scores(
                config, multilabel, dense_tr, enc.target[tr], w, dense_te, k
            )
        for c in grid:
            clf = fit_classifier(
                replace(config, features=replace(config.features, encoder=None)),
                c,
                seed,
                multilabel,
                x_tr,
                enc.target[tr],
                w,
            )
            scores[c][te] = class_scores(clf, x_te, k, multilabel)
    if columns:
        return _fuse(enc, multilabel, scores, kernel, fold_of, splits, config)
    losses = {}
    for c in grid:
        cal = _calibrate(scores[c], enc.target, multilabel)
        losses[c] = _cv_loss(cal.probabilities(scores[c]), enc.target, multilabel)
    best = min(grid, key=lambda c: (losses[c], c))
    return _CrossValidated(scores[best], best, fold_of, splits, losses)


def _kernel_scores(
    config: ModelConfig,
    multilabel: bool,
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    x_test: np.ndarray,
    k: int,
) -> np.ndarray:
    """Fit the kernel view on one training fold and score its test fold."""
    kernel = _build_kernel(config, multilabel, _class_weight(config, y, multilabel))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if weights is None:
            kernel.fit(x, y)
        else:
            kernel.fit(x, y, sample_weight=weights)
    return class_scores(kernel, x_test, k, multilabel)


def _fuse(
    enc: _Encoded,
    multilabel: bool,
    linear: dict[float, np.ndarray],
    kernel: np.ndarray,
    fold_of: np.ndarray,
    splits: list[Split],
    config: ModelConfig,
) -> _CrossValidated:
    """Pick C and the kernel view's weight by the calibrated out-of-fold log-loss."""
    kernel_scale = spread(kernel)
    losses: dict[tuple[float, float], float] = {}
    fused: dict[tuple[float, float], np.ndarray] = {}
    for c, scores in linear.items():
        for weight in config.fusion_weights:
            key = (c, float(weight))
            fused[key] = scores / spread(scores) + weight * kernel / kernel_scale
            cal = _calibrate(fused[key], enc.target, multilabel)
            losses[key] = _cv_loss(cal.probabilities(fused[key]), enc.target, multilabel)
    best = min(losses, key=lambda key: (losses[key], key))
    c, weight = best
    by_c = {c_: min(v for (cc, _), v in losses.items() if cc == c_) for c_ in linear}
    return _CrossValidated(
        fused[best],
        c,
        fold_of,
        splits,
        by_c,
        Fusion(weight, (spread(linear[c]), kernel_scale)),
        {f"{cc}/{ww}": v for (cc, ww), v in losses.items()},
    )


def _labels_of(decisions: np.ndarray, classes: tuple[str, ...], multilabel: bool) -> np.ndarray:
    if multilabel:
        out = np.empty(len(decisions), dtype=object)
        for i, row in enumerate(decisions):
            out[i] = tuple(c for c, d in zip(classes, row, strict=True) if d)
        return out
    names: np.ndarray = np.asarray(classes, dtype=object)[decisions]
    return names


def _metrics(
    enc: _Encoded,
    proba: np.ndarray,
    fold_of: np.ndarray,
    multilabel: bool,
    target_precision: float,
) -> Evaluation:
    """Summarise out-of-fold probabilities into an :class:`Evaluation`."""
    decisions, confidence = decide(proba, multilabel)
    n = len(enc.texts)
    classes = enc.classes
    score = multilabel_scores if multilabel else single_label_scores
    scores = score(y_true=enc.target, decisions=decisions, classes=classes)
    correct = scores.correct
    min_count = min_auto_coded(n)
    threshold = pick_threshold(confidence, correct, target_precision, min_count)
    auto = confidence >= threshold
    return Evaluation(
        n=n,
        multilabel=multilabel,
        folds=enc.folds,
        accuracy=scores.accuracy,
        macro_f1=scores.macro_f1,
        cohen_kappa=scores.kappa,
        per_class=scores.per_class,
        confusion_matrix=scores.confusion_matrix,
        threshold=threshold,
        threshold_reached=threshold != NO_THRESHOLD,
        coverage=float(auto.mean()),
        realised_precision=float(correct[auto].mean()) if auto.any() else None,
        target_precision=float(target_precision),
        min_auto_coded=min_count,
        log_loss=_cv_loss(proba, enc.target, multilabel),
        classes=classes,
        y_true=_labels_of(enc.target, classes, True)
        if multilabel
        else np.asarray(classes, dtype=object)[enc.target],
        y_pred=_labels_of(decisions, classes, multilabel),
        probabilities=proba,
        confidence=confidence,
        correct=correct,
        fold_of=fold_of,
    )


def _check_target(target_precision: float) -> None:
    if not 0.0 < target_precision <= 1.0:
        raise TrainingError(f"target_precision must be in (0, 1], got {target_precision}")


def _checked_weights(
    sample_weight: Sequence[float] | None, n: int, multilabel: bool
) -> np.ndarray | None:
    if sample_weight is None:
        return None
    if multilabel:
        raise TrainingError("row weights are supported for single-label data only")
    weights = np.asarray(sample_weight, dtype=float)
    if weights.shape != (n,) or not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise TrainingError(f"sample_weight needs {n} positive finite numbers")
    return weights


def _run(
    texts: Sequence[str],
    labels: Sequence[Any],
    multilabel: bool,
    target_precision: float,
    seed: int,
    folds: int,
    config: ModelConfig,
    groups: Sequence[Any] | None = None,
    sample_weight: Sequence[float] | None = None,
) -> tuple[_Encoded, _CrossValidated, TemperatureScaling | PlattScaling, Evaluation]:
    _check_target(target_precision)
    enc = _encode(texts, labels, multilabel, folds, groups)
    enc.weights = _checked_weights(sample_weight, len(enc.texts), multilabel)
    cv = _cross_validate(enc, multilabel, seed, config)
    calibrator = _calibrate(cv.scores, enc.target, multilabel)
    proba = calibrator.probabilities(cv.scores)
    evaluation = _metrics(enc, proba, cv.fold_of, multilabel, target_precision)
    return enc, cv, calibrator, evaluation


def evaluate(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    multilabel: bool = False,
    target_precision: float = 0.90,
    seed: int = 0,
    folds: int = 5,
    config: ModelConfig = DEFAULT_CONFIG,
    groups: Sequence[Any] | None = None,
    sample_weight: Sequence[float] | None = None,
) -> Evaluation:
    """Cross-validate the pipeline and report metrics.

    Folds are grouped by normalised text, and by ``groups`` (e.g. an occupation code per text)
    when given, so no group is split between training and test folds.
    """
    return _run(
        texts, labels, multilabel, target_precision, seed, folds, config, groups, sample_weight
    )[3]


def _threshold_note(*, evaluation: Evaluation, target_precision: float) -> str:
    """Explain in one sentence how the confidence threshold was chosen, or why there is none."""
    if evaluation.threshold_reached:
        return (
            f"lowest confidence at which cross-validated precision reaches {target_precision:.2f}"
            f" with at least {evaluation.min_auto_coded} auto-coded items"
        )
    return (
        f"no confidence level reached precision {target_precision:.2f} with at least "
        f"{evaluation.min_auto_coded} auto-coded items in cross-validation; nothing will be "
        "auto-coded"
    )


def _label_counts(*, enc: _Encoded, multilabel: bool) -> dict[str, int]:
    """Number of training texts carrying each label."""
    if multilabel:
        return {c: int(v) for c, v in zip(enc.classes, enc.target.sum(axis=0), strict=True)}
    return dict(Counter(enc.classes[i] for i in enc.target))


def _training_metadata(
    *,
    enc: _Encoded,
    cv: _CrossValidated,
    calibrator: TemperatureScaling | PlattScaling,
    evaluation: Evaluation,
    multilabel: bool,
    target_precision: float,
    seed: int,
    codebook: str | None,
    config: ModelConfig,
) -> dict[str, Any]:
    """The model's provenance and cross-validated quality, stored in the artifact's header."""
    return {
        "format_version": FORMAT_VERSION,
        "codebook": codebook,
        "classes": list(enc.classes),
        "multilabel": multilabel,
        "threshold": evaluation.threshold,
        "threshold_reached": evaluation.threshold_reached,
        "threshold_note": _threshold_note(evaluation=evaluation, target_precision=target_precision),
        "target_precision": float(target_precision),
        "training_size": len(enc.texts),
        "label_counts": _label_counts(enc=enc, multilabel=multilabel),
        "sklearn_version": sklearn.__version__,
        "jieba_version": jieba_version(),
        "training_data": data_fingerprint(
            enc.texts, list(_labels_of(enc.target, enc.classes, multilabel)), multilabel=multilabel
        ),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "folds": enc.folds,
        "config": config.as_dict(),
        "encoder": config.features.encoder,
        "encoder_version": encoder_version() if config.features.encoder else None,
        "threshold_status": UNVERIFIED,
        "selected_c": cv.c,
        "cv_log_loss_by_c": {str(c): v for c, v in cv.c_scores.items()},
        "fusion": None
        if cv.fusion is None
        else {
            "weight": cv.fusion.weight,
            "scales": list(cv.fusion.scales),
            "cv_log_loss_by_c_and_weight": cv.fusion_scores,
        },
        "calibration": _describe_calibrator(calibrator),
        "metrics": evaluation.as_dict(),
    }


def train(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    multilabel: bool = False,
    target_precision: float = 0.90,
    seed: int = 0,
    folds: int = 5,
    codebook: str | None = None,
    config: ModelConfig = DEFAULT_CONFIG,
    groups: Sequence[Any] | None = None,
    sample_weight: Sequence[float] | None = None,
) -> TextClassifier:
    """Fit the pipeline on all data, with calibration and threshold chosen by grouped CV.

    The threshold comes from the training corpus only, so the metadata calls it
    ``"unverified"``; :func:`.crossfit.train_in_domain` verifies one on in-domain rows.
    """
    started = time.perf_counter()
    enc, cv, calibrator, evaluation = _run(
        texts, labels, multilabel, target_precision, seed, folds, config, groups, sample_weight
    )
    features = build_features(config.features)
    x = features.fit_transform(enc.texts)
    estimator = fit_classifier(
        config, cv.c, seed, multilabel, x, enc.target, enc.weights, fusion=cv.fusion
    )
    profile = build_profile(enc.texts)
    metadata = _training_metadata(
        enc=enc,
        cv=cv,
        calibrator=calibrator,
        evaluation=evaluation,
        multilabel=multilabel,
        target_precision=target_precision,
        seed=seed,
        codebook=codebook,
        config=config,
    )
    metadata["training_seconds"] = round(time.perf_counter() - started, 3)
    metadata["platform"] = sys.platform
    metadata["domain_profile"] = profile.as_dict()
    return TextClassifier(
        features,
        estimator,
        calibrator,
        classes=enc.classes,
        multilabel=multilabel,
        threshold=evaluation.threshold,
        metadata=metadata,
        profile=profile,
    )


def _describe_calibrator(cal: TemperatureScaling | PlattScaling) -> dict[str, Any]:
    if isinstance(cal, TemperatureScaling):
        return {"method": "temperature", "temperature": cal.temperature}
    return {"method": "platt", "slopes": list(cal.slopes), "intercepts": list(cal.intercepts)}
