"""The exposure scores and the occupation reference, checked by hand against the shipped file."""

from __future__ import annotations

import csv

import pytest

from surveys import reference
from surveys.reference.exposure import (
    _DATA,
    aggregate_reference,
    exposure_scores,
    read_crosswalk,
    reference_scores,
)


def test_scores_follow_the_papers_formulas() -> None:
    scores = exposure_scores(["E0", "E1", "E2", "E2"])
    assert scores is not None
    assert scores.n == 4
    assert scores.alpha == pytest.approx(0.25)
    assert scores.beta == pytest.approx((1 + 0.5 * 2) / 4)
    assert scores.gamma == pytest.approx(0.75)


def test_uncoded_tasks_are_left_out_and_none_coded_gives_none() -> None:
    scores = exposure_scores(["E1", None, "uncodeable"])
    assert scores is not None and (scores.n, scores.alpha) == (1, 1.0)
    assert exposure_scores([None, ""]) is None
    assert exposure_scores([]) is None


def test_actors_match_their_one_onet_occupation() -> None:
    # 27-2011.00 Actors: human_rating alpha 0.125, beta 0.15625, gamma 0.1875.
    actors = reference_scores()["2655"]
    assert (actors.alpha, actors.beta, actors.gamma) == pytest.approx((0.125, 0.15625, 0.1875))
    assert actors.soc == ("27-2011",) and actors.occupations == 1


def test_dancers_average_their_soc_codes_unweighted() -> None:
    # 27-2031.00 Dancers alpha 0, gamma 1/12; 27-2032.00 Choreographers alpha 1/7, gamma 0.2.
    dancers = reference_scores()["2653"]
    assert dancers.alpha == pytest.approx((0 + 1 / 7) / 2)
    assert dancers.gamma == pytest.approx((1 / 12 + 0.2) / 2)
    assert dancers.ranges["gamma"] == pytest.approx((1 / 12, 0.2))


def test_a_soc_code_with_several_onet_occupations_is_averaged_first() -> None:
    # 3435: 27-2012 (four O*NET occupations, averaged first) and 27-4015 Lighting technicians.
    producers_alpha = (0.2553191489361702 + 0.4615384615384615 + 2 * 0.07692307692307693) / 4
    group = reference_scores()["3435"]
    assert group.alpha == pytest.approx((producers_alpha + 0.0) / 2)
    assert group.occupations == 5


def test_every_occupation_group_has_a_reference() -> None:
    scores = reference_scores()
    missing = [o.isco for o in reference.occupations() if o.isco not in scores]
    assert missing == []
    assert all(0 <= s.alpha <= s.beta <= s.gamma <= 1 for s in scores.values())


def test_crosswalk_names_only_rated_soc_codes() -> None:
    with open(_DATA / "occupation-exposure.csv", encoding="utf-8") as fh:
        rated = {row["O*NET-SOC Code"][:7] for row in csv.DictReader(fh)}
    crosswalk = read_crosswalk(_DATA / "isco-soc.csv")
    assert {soc for codes in crosswalk.values() for soc in codes} <= rated


def test_unrated_codes_are_skipped_and_unrated_groups_left_out() -> None:
    rows = [
        {
            "O*NET-SOC Code": "27-2011.00",
            "human_rating_alpha": "0.5",
            "human_rating_beta": "0.5",
            "human_rating_gamma": "0.5",
        }
    ]
    result = aggregate_reference(rows, {"2655": ["27-2011", "99-9999"], "9999": ["99-9999"]})
    assert set(result) == {"2655"}
    assert result["2655"].soc == ("27-2011",)
