"""PPI for means over respondents of per-task scores (alpha, beta, gamma): known truth.

A respondent's alpha is the share of their tasks coded E1, so the mean alpha over respondents is
a mean over task lines weighted 1/n_i. The simulated classifier over-codes E1, so the naive mean
of its labels is biased; the audit-corrected mean must cover the truth about 95% of the time.
The point estimate is checked against a plain loop, and the interval's width against a bootstrap
over respondents (resampling them with their lines and audit draws).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.pipeline.ppi import ppi_unit_mean, unit_mean

E1_SCORE = {"E0": 0.0, "E1": 1.0, "E2": 0.0}  # alpha of one line
# True E1 share per respondent ~ U(0.1, 0.6), E2 share 0.2: the mean alpha is 0.35.
TRUE_ALPHA = 0.35


def _simulate(rng: np.random.Generator, *, respondents: int = 300, audit_share: float = 0.12):
    """(unit of each line, true code, model code, audited) for one survey."""
    units, truth, model, audited = [], [], [], []
    for unit in range(respondents):
        e1 = rng.uniform(0.1, 0.6)
        for _ in range(rng.integers(1, 9)):  # 1-8 tasks, independent of exposure
            draw = rng.random()
            code = "E1" if draw < e1 else "E2" if draw < e1 + 0.2 else "E0"
            # Biased: E0 and E2 tasks called E1 three times in ten, E1 tasks E0 once in ten.
            slip = rng.random()
            if code == "E1":
                predicted = "E0" if slip < 0.1 else "E1"
            else:
                predicted = "E1" if slip < 0.3 else code
            units.append(unit)
            truth.append(code)
            model.append(predicted)
            audited.append(bool(rng.random() < audit_share))
    return units, truth, model, audited


def _scores(codes: list[str]) -> np.ndarray:
    return np.asarray([E1_SCORE[c] for c in codes])


def _true_column(truth: list[str], audited: list[bool]) -> list[float | None]:
    return [E1_SCORE[c] if a else None for c, a in zip(truth, audited, strict=True)]


def test_corrected_interval_covers_the_truth_and_the_naive_one_does_not():
    rng = np.random.default_rng(20261202)
    runs, corrected_hits, naive_hits = 300, 0, 0
    for _ in range(runs):
        units, truth, model, audited = _simulate(rng)
        corrected = ppi_unit_mean(units, _scores(model), _true_column(truth, audited))
        naive = unit_mean(units, _scores(model))
        assert corrected.low is not None and corrected.high is not None
        assert naive.low is not None and naive.high is not None
        corrected_hits += corrected.low <= TRUE_ALPHA <= corrected.high
        naive_hits += naive.low <= TRUE_ALPHA <= naive.high
    assert 0.92 <= corrected_hits / runs <= 0.98
    assert naive_hits / runs < 0.05


def _by_hand(units, predicted, true):  # type: ignore[no-untyped-def]
    """The estimator written out with loops over respondents, unweighted."""
    lines: dict[int, list[int]] = {}
    for position, unit in enumerate(units):
        lines.setdefault(unit, []).append(position)
    naive = sum(sum(predicted[p] for p in ps) / len(ps) for ps in lines.values()) / len(lines)
    error = weight = 0.0
    for ps in lines.values():
        for p in ps:
            if true[p] is not None:
                error += (true[p] - predicted[p]) / len(ps)
                weight += 1 / len(ps)
    return naive + error / weight


def test_estimate_matches_a_loop_and_its_interval_a_bootstrap_over_respondents():
    rng = np.random.default_rng(7)
    units, truth, model, audited = _simulate(rng, respondents=400)
    predicted, true = _scores(model), _true_column(truth, audited)
    result = ppi_unit_mean(units, predicted, true)
    assert result.estimate == pytest.approx(_by_hand(units, list(predicted), true))
    assert result.audited == sum(audited) and result.units == 400

    members: dict[int, list[int]] = {}
    for position, unit in enumerate(units):
        members.setdefault(unit, []).append(position)
    draws = []
    for _ in range(400):
        chosen = rng.integers(0, 400, size=400)
        positions = [(copy, p) for copy, u in enumerate(chosen) for p in members[int(u)]]
        draws.append(
            _by_hand(
                [copy for copy, _p in positions],
                [predicted[p] for _c, p in positions],
                [true[p] for _c, p in positions],
            )
        )
    half_width = (result.high - result.low) / 2  # type: ignore[operator]
    assert half_width / 1.959964 == pytest.approx(np.std(draws, ddof=1), rel=0.15)


def test_weights_reweight_respondents():
    # Two respondents; the second weighs three times the first.
    result = unit_mean(["a", "a", "b"], [1.0, 0.0, 0.0], unit_weights=[1.0, 3.0])
    assert result.estimate == pytest.approx(0.5 * 1 / 4)


def test_too_small_an_audit_is_undefined_not_naive():
    result = ppi_unit_mean([1, 2, 3], [1.0, 0.0, 1.0], [None, 0.0, None])
    assert result.estimate is None and result.audited == 1


def test_misaligned_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        ppi_unit_mean([1, 2], [1.0], [None, None])


_lines = st.lists(
    st.tuples(
        st.integers(0, 6), st.sampled_from([0.0, 0.5, 1.0]), st.sampled_from([0.0, 0.5, 1.0])
    ),
    min_size=3,
    max_size=40,
).filter(lambda rows: len({unit for unit, _f, _y in rows}) >= 2)


@settings(max_examples=150, deadline=None)
@given(_lines)
def test_a_full_audit_gives_the_truth_and_a_perfect_model_the_naive_figure(rows):  # type: ignore[no-untyped-def]
    units = [unit for unit, _f, _y in rows]
    predicted = [f for _u, f, _y in rows]
    truth = [y for _u, _f, y in rows]
    audited_all = ppi_unit_mean(units, predicted, truth)
    assert audited_all.estimate == pytest.approx(unit_mean(units, truth).estimate)
    perfect = ppi_unit_mean(units, predicted, predicted)
    assert perfect.estimate == pytest.approx(unit_mean(units, predicted).estimate)
    assert perfect.low <= perfect.estimate <= perfect.high  # type: ignore[operator]
