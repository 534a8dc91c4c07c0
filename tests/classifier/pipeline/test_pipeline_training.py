"""Training, prediction, evaluation and calibration of the classifier pipeline."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from classifier.pipeline import (
    Evaluation,
    Prediction,
    TextClassifier,
    TrainingError,
    evaluate,
    train,
)
from classifier.pipeline.thresholds import NO_THRESHOLD, min_auto_coded


def test_train_and_predict_single_label(
    trained_model: TextClassifier, synth: SimpleNamespace
) -> None:
    texts, labels = synth.make_data(10, seed=99)
    preds = trained_model.predict(texts)
    assert len(preds) == len(texts)
    assert all(isinstance(p, Prediction) for p in preds)
    assert trained_model.classes == synth.classes
    assert not trained_model.multilabel
    accuracy = np.mean([p.labels == (y,) for p, y in zip(preds, labels, strict=True)])
    assert accuracy >= 0.9
    for p in preds:
        assert len(p.labels) == 1 and p.labels[0] in trained_model.classes
        assert 0.0 <= p.confidence <= 1.0
        assert sum(p.probabilities.values()) == pytest.approx(1.0)
        assert p.confidence == pytest.approx(max(p.probabilities.values()))
        assert p.labels[0] == max(p.probabilities, key=p.probabilities.__getitem__)
        assert p.auto_coded == (p.confidence >= trained_model.threshold)


def test_predict_handles_empty_batch_and_single_string(trained_model: TextClassifier) -> None:
    assert trained_model.predict([]) == []
    assert len(trained_model.predict("Lost clients, contract cancelled.")) == 1


def test_metadata_contents(trained_model: TextClassifier) -> None:
    md = trained_model.metadata
    for key in (
        "format_version",
        "codebook",
        "classes",
        "multilabel",
        "threshold",
        "target_precision",
        "training_size",
        "sklearn_version",
        "python_version",
        "created_at",
        "seed",
        "metrics",
    ):
        assert key in md, key
    assert md["codebook"] == "displacement-risk"
    assert md["training_size"] == 180
    assert md["threshold"] == trained_model.threshold
    assert md["metrics"]["n"] == 180
    json.dumps(md, allow_nan=False)


def test_train_and_predict_multilabel(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_multilabel_data(200, seed=3)
    model = train(texts, labels, multilabel=True, seed=0)
    assert model.multilabel and model.classes == synth.classes
    test_texts, test_labels = synth.make_multilabel_data(60, seed=4)
    preds = model.predict(test_texts)
    exact = np.mean([set(p.labels) == set(y) for p, y in zip(preds, test_labels, strict=True)])
    assert exact >= 0.7
    for p in preds:
        probs = np.array(list(p.probabilities.values()))
        assert set(p.labels) == {c for c, v in p.probabilities.items() if v >= 0.5}
        assert p.confidence == pytest.approx(np.maximum(probs, 1 - probs).min())
        assert p.auto_coded == (p.confidence >= model.threshold)
    assert any(len(p.labels) == 0 for p in preds) and any(len(p.labels) == 2 for p in preds)


def test_multilabel_evaluation_matches_sklearn(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_multilabel_data(160, seed=5)
    ev = evaluate(texts, labels, multilabel=True, seed=1)
    classes = list(ev.classes)
    y_true = np.array([[c in y for c in classes] for y in ev.y_true], dtype=int)
    y_pred = np.array([[c in y for c in classes] for y in ev.y_pred], dtype=int)
    assert ev.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert ev.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert np.array_equal(ev.correct, (y_true == y_pred).all(axis=1))
    json.dumps(ev.as_dict(), allow_nan=False)


def test_chinese_only_data_beats_chance_clearly(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(25, seed=7, langs=("zh",))
    ev = evaluate(texts, labels, seed=0)
    assert ev.accuracy >= 0.85  # chance is 1/3


def test_english_only_data_learns(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(25, seed=8, langs=("en",))
    assert evaluate(texts, labels, seed=0).accuracy >= 0.85


def test_training_is_deterministic(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(15, seed=11, noise=0.2)
    probe, _ = synth.make_data(5, seed=12)
    a = train(texts, labels, seed=3)
    b = train(texts, labels, seed=3)
    assert np.array_equal(a.predict_proba(probe), b.predict_proba(probe))
    assert a.threshold == b.threshold
    ev_a = evaluate(texts, labels, seed=3)
    ev_b = evaluate(texts, labels, seed=3)
    assert np.array_equal(ev_a.probabilities, ev_b.probabilities)
    assert ev_a.as_dict() == ev_b.as_dict()


def test_evaluation_matches_sklearn_metrics(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(20, seed=13, noise=0.25)
    ev = evaluate(texts, labels, seed=0, target_precision=0.8)
    assert isinstance(ev, Evaluation)
    y_true = list(ev.y_true)
    y_pred = list(ev.y_pred)
    assert y_true == labels
    classes = list(ev.classes)
    assert ev.n == len(texts)
    assert ev.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert ev.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert ev.cohen_kappa == pytest.approx(cohen_kappa_score(y_true, y_pred))
    assert ev.confusion_matrix["labels"] == classes
    expected_matrix = confusion_matrix(y_true, y_pred, labels=classes).tolist()
    assert ev.confusion_matrix["matrix"] == expected_matrix
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    for j, c in enumerate(classes):
        assert ev.per_class[c]["precision"] == pytest.approx(p[j])
        assert ev.per_class[c]["recall"] == pytest.approx(r[j])
        assert ev.per_class[c]["f1"] == pytest.approx(f[j])
        assert ev.per_class[c]["support"] == s[j]
    # Confidence, correctness, routing figures recomputed from the exposed CV predictions.
    assert np.allclose(ev.confidence, ev.probabilities.max(axis=1))
    assert np.array_equal(ev.correct, np.array(y_true) == np.array(y_pred))
    auto = ev.confidence >= ev.threshold
    assert ev.coverage == pytest.approx(auto.mean())
    if auto.any():
        assert ev.realised_precision == pytest.approx(ev.correct[auto].mean())
        assert ev.realised_precision is not None
        assert ev.realised_precision >= 0.8
    # Brute force: the lowest candidate with enough items and precision >= target.
    need = min_auto_coded(ev.n)
    qualifying = [
        t
        for t in sorted(set(ev.confidence.tolist()))
        if (ev.confidence >= t).sum() >= need and ev.correct[ev.confidence >= t].mean() >= 0.8
    ]
    assert ev.threshold == (qualifying[0] if qualifying else NO_THRESHOLD)
    d = ev.as_dict()
    for key in (
        "n",
        "accuracy",
        "macro_f1",
        "cohen_kappa",
        "per_class",
        "confusion_matrix",
        "threshold",
        "coverage",
        "realised_precision",
        "target_precision",
    ):
        assert key in d
    json.dumps(d, allow_nan=False)


def test_unreachable_target_auto_codes_nothing(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(12, seed=21, noise=0.9)
    model = train(texts, labels, seed=0, target_precision=1.0)
    assert model.threshold == NO_THRESHOLD > 1.0
    assert model.metadata["threshold_reached"] is False
    assert "nothing will be auto-coded" in model.metadata["threshold_note"]
    assert not any(p.auto_coded for p in model.predict(texts))


def test_folds_reduced_to_smallest_class(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(10, seed=2, langs=("en",))
    texts += ["Rare label example one.", "Another rare label text.", "Third rare sample here."]
    labels += ["rare"] * 3
    model = train(texts, labels, seed=0, folds=5)
    assert model.metadata["folds"] == 3
    assert "rare" in model.classes


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        (["a b", "c d", "e f"], ["x", "x", "x"], "only one class"),
        (["a b", "c d", "e f"], ["x", "x", "y"], "'y' (1)"),
        (["a b", "A  B", "e f", "g h"], ["x", "x", "y", "y"], "'x' (1)"),
        (["a b", "c d"], ["x"], "2 texts but 1 labels"),
        ([], [], "no training data"),
        (["a b", "  ", "c", "d"], ["x", "x", "y", "y"], "index 1 is empty"),
    ],
)
def test_training_errors(texts: list[str], labels: list[str], message: str) -> None:
    with pytest.raises(TrainingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        train(texts, labels)


def test_multilabel_training_errors() -> None:
    with pytest.raises(TrainingError, match="'b' is assigned to 1"):
        train(["t1", "t2", "t3", "t4"], [["a"], ["a", "b"], [], []], multilabel=True)
    with pytest.raises(TrainingError, match="every text"):
        train(["t1", "t2", "t3", "t4"], [["a"], ["a"], ["a"], ["a"]], multilabel=True)


def test_calibration_on_held_out_data(synth: SimpleNamespace) -> None:
    """Calibrated confidence tracks held-out accuracy and beats raw softmax on Brier score."""
    texts, labels = synth.make_data(60, seed=31, noise=0.3)
    model = train(texts, labels, seed=0)
    test_texts, test_labels = synth.make_data(60, seed=32, noise=0.3)
    proba = model.predict_proba(test_texts)
    classes = list(model.classes)
    truth = np.zeros_like(proba)
    truth[np.arange(len(test_labels)), [classes.index(y) for y in test_labels]] = 1
    accuracy = (proba.argmax(axis=1) == truth.argmax(axis=1)).mean()
    assert abs(proba.max(axis=1).mean() - accuracy) < 0.08
    raw = model.estimator.decision_function(model.features.transform(test_texts))
    brier_raw = ((softmax(raw, axis=1) - truth) ** 2).sum(axis=1).mean()
    brier_cal = ((proba - truth) ** 2).sum(axis=1).mean()
    assert brier_cal < brier_raw


def test_training_and_batch_prediction_at_size(synth: SimpleNamespace) -> None:
    """1,500 texts train and predict in one batch; their speed is measured by bench/training.py."""
    texts, labels = synth.make_data(250, seed=41, noise=0.1)  # 1,500 texts
    model = train(texts, labels, seed=0)
    predictions = model.predict(texts)
    assert len(predictions) == 1500
    assert all(isinstance(p, Prediction) for p in predictions)
    assert {label for p in predictions for label in p.labels} <= set(model.classes)
