"""Grouped cross-validation folds keep identical (normalised) texts together."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.pipeline.folds import group_ids, make_folds


def test_group_ids_use_normalised_text() -> None:
    ids = group_ids(
        [
            "Hello  world",
            "hello world",
            " HELLO\tWORLD ",
            "\uff48\uff45\uff4c\uff4c\uff4f world",
            "other",
        ]
    )
    assert len(set(ids[:4].tolist())) == 1
    assert ids[4] != ids[0]


def _assert_groups_not_split(texts: list[str], splits: list[tuple[np.ndarray, np.ndarray]]) -> None:
    groups = group_ids(texts)
    n = len(texts)
    seen_test = np.zeros(n, dtype=int)
    for train, test in splits:
        assert not set(groups[train].tolist()) & set(groups[test].tolist())
        assert len(np.intersect1d(train, test)) == 0
        assert len(train) + len(test) == n
        seen_test[test] += 1
    assert (seen_test == 1).all()  # every item is tested exactly once


def test_identical_texts_never_split(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(10, seed=3)
    texts = texts + [t.upper() for t in texts[:20]] + texts[:20]
    labels = labels + labels[:20] + labels[:20]
    splits = make_folds(texts, labels, 5, seed=0)
    assert len(splits) == 5
    _assert_groups_not_split(texts, splits)


def test_folds_without_strata(synth: SimpleNamespace) -> None:
    texts, _ = synth.make_data(5, seed=4)
    texts = texts + texts
    _assert_groups_not_split(texts, make_folds(texts, None, 3, seed=1))


def test_folds_are_seeded(synth: SimpleNamespace) -> None:
    texts, labels = synth.make_data(10, seed=5)
    a = make_folds(texts, labels, 4, seed=7)
    b = make_folds(texts, labels, 4, seed=7)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))


def test_too_few_groups_is_an_error() -> None:
    with pytest.raises(ValueError, match="distinct texts"):
        make_folds(["a", "A", "b"], ["x", "x", "y"], 3, seed=0)


@settings(max_examples=60, deadline=None)
@given(
    choices=st.lists(st.integers(0, 14), min_size=10, max_size=60),
    n_splits=st.integers(2, 5),
    seed=st.integers(0, 3),
)
def test_grouping_property(choices: list[int], n_splits: int, seed: int) -> None:
    vocabulary = [f"Text number {i}" for i in range(15)]
    texts = [vocabulary[c] if i % 2 else vocabulary[c].lower() for i, c in enumerate(choices)]
    labels = ["a" if c % 2 else "b" for c in choices]
    if len(set(choices)) < n_splits:
        return
    _assert_groups_not_split(texts, make_folds(texts, labels, n_splits, seed=seed))
