"""Agreement statistics against independent implementations (scikit-learn, krippendorff)."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from classifier.coding.agreement import cohen_kappa, krippendorff_alpha_nominal, percent_agreement

CODES = ["displaced", "substitution", "augmentation", "not-exposed", "uncodeable"]


@st.composite
def paired_codings(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    n = draw(st.integers(min_value=2, max_value=60))
    codes = st.sampled_from(CODES[: draw(st.integers(min_value=2, max_value=5))])
    return draw(st.lists(codes, min_size=n, max_size=n)), draw(
        st.lists(codes, min_size=n, max_size=n)
    )


@settings(max_examples=200, deadline=None)
@given(paired_codings())
def test_cohen_kappa_matches_sklearn(pair: tuple[list[str], list[str]]) -> None:
    a, b = pair
    ours = cohen_kappa(a, b)
    if len(set(a) | set(b)) == 1:
        assert math.isnan(ours)  # no variation: chance agreement is total, kappa undefined
        return
    assert ours == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)


@st.composite
def reliability_matrix(draw: st.DrawFn) -> list[list[int | None]]:
    coders = draw(st.integers(min_value=2, max_value=5))
    units = draw(st.integers(min_value=1, max_value=40))
    value = st.one_of(st.none(), st.integers(min_value=0, max_value=4))
    return [draw(st.lists(value, min_size=units, max_size=units)) for _ in range(coders)]


@settings(max_examples=300, deadline=None)
@given(reliability_matrix())
def test_krippendorff_alpha_matches_the_krippendorff_package(
    matrix: list[list[int | None]],
) -> None:
    ours = krippendorff_alpha_nominal(matrix)
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    pairable = [[row[j] for row in matrix if row[j] is not None] for j in range(len(matrix[0]))]
    values = {v for unit in pairable if len(unit) > 1 for v in unit}
    if len(values) < 2:
        assert math.isnan(ours)
        return
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ours == pytest.approx(reference, abs=1e-9)


def test_alpha_accepts_any_hashable_codes():
    data: list[list[str | None]] = [
        ["income;skills", "likeness", None, "energy"],
        ["income;skills", "likeness", "x", "quality"],
    ]
    as_numbers: list[list[int | None]] = [[0, 1, None, 2], [0, 1, 3, 4]]
    assert krippendorff_alpha_nominal(data) == pytest.approx(krippendorff_alpha_nominal(as_numbers))


def test_edge_cases():
    assert math.isnan(cohen_kappa([], []))
    assert math.isnan(percent_agreement([], []))
    assert percent_agreement(["a", "b"], ["a", "c"]) == 0.5
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    assert math.isnan(krippendorff_alpha_nominal([]))
    assert math.isnan(krippendorff_alpha_nominal([["a", None], [None, "b"]]))
    with pytest.raises(ValueError):
        cohen_kappa(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        krippendorff_alpha_nominal([["a"], ["a", "b"]])
