"""The out-of-distribution guard, the lower-bound threshold rule and in-domain cross-fitting."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from classifier.pipeline import (
    NO_THRESHOLD,
    InDomain,
    TextClassifier,
    TrainingError,
    load,
    pick_threshold_lower_bound,
    save,
    train,
    train_in_domain,
)
from classifier.pipeline.artifact import MAGIC, _canonical
from classifier.pipeline.folds import group_ids, make_folds
from classifier.pipeline.ood import DomainProfile, build_profile, unreadable_reason
from classifier.pipeline.thresholds import precision_lower_bound


@pytest.fixture(scope="module")
def english_model(synth: SimpleNamespace) -> TextClassifier:
    texts, labels = synth.make_data(30, seed=2, langs=("en",))
    return train(texts, labels, seed=0)


def test_profile_counts_letters_per_script() -> None:
    profile = build_profile(["Hello world", "你好"])
    assert profile.scripts == pytest.approx({"cjk": 2 / 12, "latin": 10 / 12}, abs=1e-5)
    assert profile.trained_scripts == {"cjk", "latin"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("  123 ... !!!", "empty"),
        ("我今年丢了客户", "language-not-trained"),
        ("Мы потеряли клиентов", "language-not-trained"),
        ("lost clients 我今年丢了很多客户和合同", "language-not-trained"),
        ("zorblat quimble frazzle", "unknown-vocabulary"),
        ("lost clients this year", None),
        ("lost clients this year and zorblat", None),  # 4 of 5 tokens known
    ],
)
def test_unreadable_reason(text: str, reason: str | None) -> None:
    profile = DomainProfile(scripts={"latin": 1.0})
    vocabulary = frozenset(["lost", "clients", "this", "year", "and"])
    assert unreadable_reason(text, profile, vocabulary) == reason


def test_english_model_never_auto_codes_chinese(
    english_model: TextClassifier, synth: SimpleNamespace
) -> None:
    import random

    rng = random.Random(5)
    texts = [synth.make_sentence(rng, label, "zh") for label in synth.classes]
    english = [synth.make_sentence(rng, label, "en") for label in synth.classes]
    predictions = english_model.predict(texts + english)
    assert [p.reason for p in predictions[:3]] == ["language-not-trained"] * 3
    assert not any(p.auto_coded for p in predictions[:3])
    for p in predictions[3:]:
        assert p.auto_coded == (p.reason is None)
        assert p.reason in {None, "below-threshold"}


def test_bilingual_model_reads_both(trained_model: TextClassifier) -> None:
    predictions = trained_model.predict(["我今年丢了客户，收入下降", "I lost clients this year"])
    assert all(p.reason in {None, "below-threshold"} for p in predictions)
    assert trained_model.metadata["domain_profile"]["scripts"].keys() == {"cjk", "latin"}


def test_format_1_artifacts_still_load_and_guard(
    english_model: TextClassifier, tmp_path: Path
) -> None:
    path = tmp_path / "old.clf"
    save(english_model, path)
    data = path.read_bytes()
    (length,) = struct.unpack(">Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    header, payload = json.loads(data[start : start + length]), data[start + length :]
    header = {k: v for k, v in header.items() if k != "domain_profile"}
    header["format_version"] = 1
    header["header_sha256"] = hashlib.sha256(_canonical(header)).hexdigest()
    raw = json.dumps(header).encode("utf-8")
    path.write_bytes(MAGIC + struct.pack(">Q", len(raw)) + raw + payload)
    model = load(path)
    assert model.profile is not None and "cjk" not in model.profile.trained_scripts
    assert model.predict(["我今年丢了客户"])[0].reason == "language-not-trained"


def test_lower_bound_matches_scipy_exact_interval() -> None:
    for hits, n in [(9, 10), (45, 45), (90, 100), (1, 3)]:
        two_sided_90 = stats.binomtest(hits, n).proportion_ci(0.90, method="exact")
        assert precision_lower_bound(hits, n) == pytest.approx(two_sided_90.low)


def test_lower_bound_rule_needs_enough_evidence() -> None:
    # Ten correct items: precision 1.0, but the 95% lower bound is 0.74 < 0.9.
    conf, ok = np.linspace(0.9, 0.99, 10), np.ones(10, dtype=bool)
    assert pick_threshold_lower_bound(conf, ok, 0.9) == (NO_THRESHOLD, None)
    # Forty correct high-confidence items (bound 0.928) and forty wrong low ones; one wrong
    # item more would bring the bound below 0.9, so the threshold is the lowest correct item.
    conf = np.r_[np.linspace(0.9, 0.99, 40), np.linspace(0.4, 0.6, 40)]
    ok = np.r_[np.ones(40, dtype=bool), np.zeros(40, dtype=bool)]
    threshold, bound = pick_threshold_lower_bound(conf, ok, 0.9)
    assert threshold == pytest.approx(0.9)
    assert bound is not None and bound >= 0.9


def test_caller_groups_never_split(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(10, seed=3, langs=("en",))
    groups = [i % 6 for i in range(len(texts))]
    ids = group_ids(texts, groups)
    for train_idx, test_idx in make_folds(texts, labels, 3, 0, groups=ids):
        assert not {groups[i] for i in train_idx} & {groups[i] for i in test_idx}


def test_in_domain_threshold_is_verified_on_the_in_domain_rows(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(20, seed=4, langs=("en",))
    in_texts, in_labels = synth.make_data(20, seed=5, langs=("zh",))
    model = train_in_domain(texts, labels, InDomain(in_texts, in_labels, weight=2.0))
    meta = model.metadata
    assert meta["threshold_status"] == "verified"
    assert meta["in_domain"]["n"] == 60
    assert meta["in_domain"]["precision_lower_bound"] >= 0.9
    assert model.threshold == meta["threshold"] < NO_THRESHOLD
    assert meta["domain_profile"]["scripts"].keys() == {"cjk", "latin"}


def test_in_domain_rows_with_wrong_labels_give_no_threshold(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(20, seed=4, langs=("en",))
    in_texts, in_labels = synth.make_data(10, seed=6, langs=("en",), noise=1.0)
    model = train_in_domain(texts, labels, InDomain(in_texts, in_labels))
    assert model.threshold == NO_THRESHOLD
    assert model.metadata["threshold_status"] == "none-qualified"
    assert all(p.reason in {"no-threshold", "unknown-vocabulary"} for p in model.predict(texts[:5]))


def test_too_few_in_domain_rows(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(10, seed=4, langs=("en",))
    with pytest.raises(TrainingError, match="at least 10"):
        train_in_domain(texts, labels, InDomain(texts[:3], labels[:3]))


def test_unverified_without_in_domain_rows(trained_model: TextClassifier) -> None:
    assert trained_model.metadata["threshold_status"] == "unverified"
