"""The training-data fingerprint recorded in model artifacts."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from classifier.pipeline import TrainingError, data_fingerprint, train

TEXTS = ["Lost  clients", "工具提高效率", "Rigging lights"]
LABELS = ["displaced", "augmentation", "not-exposed"]


def test_fingerprint_matches_its_documented_definition() -> None:
    lines = sorted(
        [
            '["lost clients",["displaced"]]\n',
            '["工具提高效率",["augmentation"]]\n',
            '["rigging lights",["not-exposed"]]\n',
        ]
    )
    expected = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    assert data_fingerprint(TEXTS, LABELS) == {
        "sha256": expected,
        "rows": 3,
        "method": "sha256 of sorted JSON lines [normalised text, sorted labels]",
    }


def test_row_order_and_normalisation_do_not_change_it() -> None:
    base = data_fingerprint(TEXTS, LABELS)
    assert data_fingerprint(TEXTS[::-1], LABELS[::-1]) == base
    assert data_fingerprint(["LOST clients ", "工具提高效率", "rigging\tlights"], LABELS) == base
    assert data_fingerprint(TEXTS, [" displaced", "augmentation ", "not-exposed"]) == base


@pytest.mark.parametrize(
    ("texts", "labels"),
    [
        (TEXTS, ["augmentation", "augmentation", "not-exposed"]),
        (["Lost client", *TEXTS[1:]], LABELS),
        ([*TEXTS, TEXTS[0]], [*LABELS, LABELS[0]]),
        (TEXTS[:2], LABELS[:2]),
    ],
)
def test_any_change_to_the_rows_changes_it(texts: list[str], labels: list[str]) -> None:
    changed = data_fingerprint(texts, labels)
    assert changed["sha256"] != data_fingerprint(TEXTS, LABELS)["sha256"]
    assert changed["rows"] == len(texts)


def test_multilabel_sets_ignore_label_order_and_repeats() -> None:
    a = data_fingerprint(["x y", "z"], [("b", "a"), ()], multilabel=True)
    b = data_fingerprint(["z", "x y"], [[], ["a", "b", "a "]], multilabel=True)
    assert a == b
    assert a != data_fingerprint(["x y", "z"], [("a",), ()], multilabel=True)


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(TrainingError):
        data_fingerprint(TEXTS, LABELS[:2])
    with pytest.raises(TrainingError):
        data_fingerprint("one text", ["label"])


def test_multilabel_training_records_the_label_sets(synth: Any) -> None:
    texts, labels = synth.make_multilabel_data(120, seed=9)
    model = train(texts, labels, multilabel=True)
    assert model.metadata["training_data"] == data_fingerprint(texts, labels, multilabel=True)
