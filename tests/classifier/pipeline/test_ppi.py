"""Prediction-powered inference: coverage under a shifted classifier, against a known truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.pipeline.ppi import category_shares, naive_share, ppi_mean


def _simulate(rng: np.random.Generator, *, n_all: int = 2000, n_audit: int = 150):
    """A population whose true share is 0.30 and a model that over-predicts it (shifted)."""
    truth = rng.random(n_all) < 0.30
    # The model misses a third of the positives and flags 20% of negatives: biased upwards.
    predicted = np.where(truth, rng.random(n_all) < 0.67, rng.random(n_all) < 0.20)
    audit = rng.choice(n_all, size=n_audit, replace=False)
    return truth, predicted, audit


def test_ppi_interval_covers_the_truth_and_the_naive_one_does_not():
    rng = np.random.default_rng(20261202)
    ppi_hits = naive_hits = 0
    runs = 400
    for _ in range(runs):
        truth, predicted, audit = _simulate(rng)
        true_share = truth.mean()
        ppi = ppi_mean(predicted, predicted[audit], truth[audit])
        naive = naive_share(predicted)
        assert ppi.low is not None and ppi.high is not None
        assert naive.low is not None and naive.high is not None
        ppi_hits += ppi.low <= true_share <= ppi.high
        naive_hits += naive.low <= true_share <= naive.high
    assert 0.92 <= ppi_hits / runs <= 0.98
    assert naive_hits / runs < 0.10


def test_a_perfect_model_gives_the_naive_figure_with_a_narrow_interval():
    labels = ["E0"] * 60 + ["E1"] * 30 + ["E2"] * 10
    shares = category_shares(["E0", "E1", "E2"], labels, labels[:40], labels[:40])
    assert shares["E1"]["ppi"].estimate == pytest.approx(0.30)
    assert shares["E1"]["naive"].estimate == pytest.approx(0.30)


def test_without_an_audit_the_estimate_is_undefined():
    estimate = ppi_mean([1, 0, 1], [], [])
    assert estimate.estimate is None and estimate.n == 0


def test_misaligned_audit_is_refused():
    with pytest.raises(ValueError, match="same length"):
        ppi_mean([1, 0], [1, 0], [1])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.booleans(), min_size=2, max_size=50),
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=30),
)
def test_interval_is_ordered_and_within_zero_and_one(predicted, audit):
    est = ppi_mean(predicted, [a for a, _ in audit], [b for _, b in audit])
    assert est.low is not None and est.high is not None and est.estimate is not None
    assert 0.0 <= est.low <= est.estimate <= est.high <= 1.0
