"""The exposure endpoint: respondents' alpha/beta/gamma by occupation beside the reference.

Means and intervals are checked against scipy's t interval computed here from the codes each
respondent's tasks were given; the reference against the shipped occupation file by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from classifier.models import Classification, Codebook
from surveys.models import Answer
from tests.api.helpers import API, respond, token_client

# Twelve actors (ISCO 2655) with 1-3 tasks each, ten photographers (3431), and three designers
# (2166): below k=10, hidden, with a second group hidden beside them (complementary suppression).
ACTORS = [["E0"], ["E1", "E0"], ["E2", "E2", "E0"], ["E1"], ["E0", "E0"], ["E2"]] * 2
PHOTOGRAPHERS = [["E0", "E2"]] * 10
DESIGNERS = [["E1", "E2"], ["E2"], ["E0"]]


def _respondent(survey, occupation: str, codes: list[str], language: str = "en") -> None:  # type: ignore[no-untyped-def]
    lines = [f"task {n}" for n in range(1, len(codes) + 1)]
    response = respond(survey, {"occupation": occupation, "main_tasks": lines}, language=language)
    book = Codebook.objects.get(slug="task-exposure")
    for answer in Answer.objects.filter(response=response, question__code="main_tasks"):
        Classification.objects.create(
            answer=answer,
            codebook=book,
            status=Classification.Status.DONE,
            labels=[codes[int(answer.row) - 1]],
            confidence=0.95,
        )


@pytest.fixture
def coded(default_survey):  # type: ignore[no-untyped-def]
    for position, codes in enumerate(ACTORS):
        _respondent(default_survey, "2655", codes, "zh-hans" if position % 3 == 0 else "en")
    for codes in PHOTOGRAPHERS:
        _respondent(default_survey, "3431", codes)
    for codes in DESIGNERS:
        _respondent(default_survey, "2166", codes)
    return default_survey


def _beta(codes: list[str]) -> float:
    return (codes.count("E1") + 0.5 * codes.count("E2")) / len(codes)


def test_group_means_and_intervals_match_scipy_and_small_groups_are_hidden(coded, people):  # type: ignore[no-untyped-def]
    result = token_client(people.viewer).get(f"{API}/surveys/{coded.slug}/exposure/")
    assert result.status_code == 200, result.content[:300]
    body = result.json()
    assert body["question"] == "main_tasks" and body["by"] == "occupation"
    groups = {g["code"]: g for g in body["groups"]}

    betas = np.array([_beta(codes) for codes in ACTORS])
    low, high = stats.t.interval(0.95, len(betas) - 1, loc=betas.mean(), scale=stats.sem(betas))
    actors = groups["2655"]["respondents"]["beta"]
    assert actors["mean"] == pytest.approx(betas.mean())
    assert (actors["low"], actors["high"]) == pytest.approx((low, high))
    assert actors["n"] == 12

    designers = groups["2166"]["respondents"]["alpha"]
    assert designers["suppressed"] and designers["mean"] is None
    # No code here is a model label awaiting the audit or a coder; no audit to correct with.
    assert groups["2655"]["provisional"] == {"share": 0.0, "any": False}
    assert groups["2166"]["provisional"] is None and groups["2166"]["corrected"] is None
    assert body["estimates"]["available"] is False and body["estimates"]["reason"]
    assert body["corrected"] is None
    # The reference is there whatever the respondents: 27-2011.00 Actors.
    reference = groups["2655"]["reference"]
    assert (reference["alpha"], reference["beta"], reference["gamma"]) == pytest.approx(
        (0.125, 0.15625, 0.1875)
    )
    assert reference["soc"] == ["27-2011"]
    assert groups["2166"]["reference"]["soc"] == ["27-1024", "27-1014", "27-1011"]


def test_weighted_means_use_the_post_stratification_weights(coded, people):  # type: ignore[no-untyped-def]
    result = token_client(people.viewer).get(
        f"{API}/surveys/{coded.slug}/exposure/?weights=language&targets=en:0.5,zh-hans:0.5"
    )
    assert result.status_code == 200, result.content[:300]
    body = result.json()
    assert body["weighted"] is True
    assert body["estimates"]["available"] is False and "unweighted" in body["estimates"]["reason"]
    gammas = {"en": [], "zh-hans": []}
    for position, codes in enumerate(ACTORS):
        language = "zh-hans" if position % 3 == 0 else "en"
        gammas[language].append((codes.count("E1") + codes.count("E2")) / len(codes))
    # Post-stratification over the whole sample: each language weighs target / sample share.
    everyone = len(ACTORS) + len(PHOTOGRAPHERS) + len(DESIGNERS)
    chinese = len(gammas["zh-hans"])  # all Chinese-language respondents are actors
    weight = {"zh-hans": 0.5 / (chinese / everyone), "en": 0.5 / ((everyone - chinese) / everyone)}
    expected = sum(weight[lang] * sum(values) for lang, values in gammas.items()) / sum(
        weight[lang] * len(values) for lang, values in gammas.items()
    )
    actors = next(g for g in body["groups"] if g["code"] == "2655")
    assert actors["respondents"]["gamma"]["mean"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [("?question=change_text", "question"), ("?weights=language", "weights")],
)
def test_bad_requests_get_a_clear_400(coded, people, query, field):  # type: ignore[no-untyped-def]
    result = token_client(people.viewer).get(f"{API}/surveys/{coded.slug}/exposure/{query}")
    assert result.status_code == 400
    assert field in result.json()


def test_other_researchers_and_anonymous_callers_are_refused(coded, people):  # type: ignore[no-untyped-def]
    assert (
        token_client(people.other).get(f"{API}/surveys/{coded.slug}/exposure/").status_code == 404
    )
    assert token_client().get(f"{API}/surveys/{coded.slug}/exposure/").status_code == 401


def test_callers_without_raw_access_get_the_whole_population_only(coded):  # type: ignore[no-untyped-def]
    coded.public_statistics = True
    coded.save(update_fields=["public_statistics"])
    anonymous = token_client()
    url = f"{API}/surveys/{coded.slug}/exposure/"
    assert anonymous.get(url).status_code == 200
    # A window or a filter would let two tables be subtracted: refused, naming the parameter.
    for query, field in [("?to=2030-01-01", "to"), ("?filter=language:en", "filter")]:
        result = anonymous.get(url + query)
        assert result.status_code == 400
        assert field in result.json()
