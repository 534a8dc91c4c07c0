"""Confidence-threshold selection."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.pipeline.thresholds import (
    NO_THRESHOLD,
    min_auto_coded,
    pick_threshold,
    precision_curve,
)


def brute_force(conf: np.ndarray, correct: np.ndarray, target: float, need: int) -> float:
    """The lowest observed confidence t with >= need items at/above t and precision >= target."""
    for t in sorted(set(conf.tolist())):
        mask = conf >= t
        if mask.sum() >= need and correct[mask].mean() >= target - 1e-12:
            return t
    return NO_THRESHOLD


def test_picks_lowest_qualifying_threshold() -> None:
    conf = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
    # Precision at 0.7 is 5/5, at 0.6 it is 5/6 = 0.83, at 0.5 it is 5/7.
    assert pick_threshold(conf, correct, 0.8, min_count=1) == 0.6
    assert pick_threshold(conf, correct, 0.9, min_count=1) == 0.7
    assert pick_threshold(conf, correct, 0.6, min_count=1) == 0.4  # 5/8 = 0.625


def test_non_monotone_curve_takes_lowest_not_first_crossing() -> None:
    # Precision dips below target in the middle and recovers lower down.
    conf = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([1, 0, 1, 1, 1], dtype=bool)
    assert pick_threshold(conf, correct, 0.75, min_count=1) == 0.5  # 4/5 = 0.8


def test_one_lucky_item_cannot_set_threshold() -> None:
    conf = np.linspace(0.99, 0.3, 100)
    correct = np.zeros(100, dtype=bool)
    correct[0] = True  # only the most confident item is right
    assert pick_threshold(conf, correct, 0.9, min_count=1) == conf[0]
    assert pick_threshold(conf, correct, 0.9) == NO_THRESHOLD
    assert min_auto_coded(100) == 20
    assert min_auto_coded(1000) == 50
    assert min_auto_coded(10) == 10


def test_ties_are_handled_as_a_block() -> None:
    conf = np.array([0.9, 0.9, 0.9, 0.5])
    correct = np.array([1, 1, 0, 1], dtype=bool)
    thresholds, precision, counts = precision_curve(conf, correct)
    assert thresholds.tolist() == [0.5, 0.9]
    assert counts.tolist() == [4, 3]
    assert precision.tolist() == [0.75, 2 / 3]
    assert pick_threshold(conf, correct, 0.7, min_count=1) == 0.5


def test_empty_input_gives_no_threshold() -> None:
    assert pick_threshold(np.array([]), np.array([], dtype=bool), 0.9) == NO_THRESHOLD


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(
        st.tuples(st.integers(0, 20).map(lambda v: v / 20), st.booleans()), min_size=0, max_size=60
    ),
    target=st.sampled_from([0.5, 0.7, 0.8, 0.9, 0.95, 1.0]),
    need=st.integers(1, 25),
)
def test_threshold_property(items: list[tuple[float, bool]], target: float, need: int) -> None:
    conf = np.array([c for c, _ in items], dtype=float)
    correct = np.array([k for _, k in items], dtype=bool)
    t = pick_threshold(conf, correct, target, min_count=need)
    assert t == brute_force(conf, correct, target, need)
    if t != NO_THRESHOLD:
        mask = conf >= t
        assert mask.sum() >= need
        assert correct[mask].mean() >= target - 1e-12
        for lower in sorted(set(conf[conf < t].tolist())):
            m = conf >= lower
            assert m.sum() < need or correct[m].mean() < target - 1e-12
