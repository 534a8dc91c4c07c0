"""Every kind of bad query answers 400 with a message naming the problem, never a 500."""

from __future__ import annotations

import pytest

from tests.api.helpers import API, respond

STATISTICS_CASES = [
    # (query, field, part of the message)
    ("", "variable", "required"),
    ("variable=nope", "variable", "Unknown variable 'nope'"),
    ("variable=employment_typ", "variable", "Did you mean employment_type"),
    ("variable=years_experience", "variable", "use stat=mean"),
    ("variable=change_text", "variable", "text variable"),
    ("variable=started_at", "variable", "datetime variable"),
    ("variable=employment_type&stat=mean", "stat", "numeric or Likert"),
    ("variable=employment_type&stat=median", "stat", "not a valid choice"),
    ("variable=employment_type&from=2024-13-01", "from", "Date has wrong format"),
    ("variable=employment_type&to=yesterday", "to", "Date has wrong format"),
    ("variable=employment_type&from=2024-03-01&to=2024-02-01", "from", "is after"),
    ("variable=employment_type&k=3", "k", "k must be at least 5"),
    ("variable=employment_type&k=abc", "k", "whole number"),
    ("variable=employment_type&k=7.5", "k", "whole number"),
    ("variable=employment_type&by=lost_work&by=country", "by", "At most two variables"),
    ("variable=employment_type&by=lost_work,country", "by", "At most two variables"),
    ("variable=employment_type,country", "variable", "At most two variables"),
    ("variable=employment_type&variable=country", "variable", "At most two variables"),
    ("variable=employment_type&by=years_experience", "by", "needs a categorical variable"),
    ("variable=employment_type&by=nope", "by", "Unknown variable 'nope'"),
    ("variable=employment_type&by=employment_type", "by", "different variable"),
    ("variable=employment_type&filter=country", "filter", "Malformed filter"),
    ("variable=employment_type&filter=country:", "filter", "Malformed filter"),
    ("variable=employment_type&filter=nope:1", "filter", "Unknown variable 'nope'"),
    ("variable=employment_type&filter=country:XX", "filter", "Unknown code 'XX'"),
    ("variable=employment_type&filter=years_experience:3", "filter", "not categorical"),
    ("variable=employment_type&weights=language", "weights", "needs both"),
    ("variable=employment_type&targets=en:1", "weights", "needs both"),
    ("variable=employment_type&weights=language&targets=en:0,zh-hans:0", "targets", "positive"),
    ("variable=employment_type&weights=language&targets=en:1,xx:1", "targets", "Unknown strata"),
    ("variable=employment_type&weights=language&targets=en=1", "targets", "Malformed target"),
    ("variable=employment_type&weights=language&targets=en:lots", "targets", "not a number"),
    ("variable=employment_type&weights=language&targets=en:-1", "targets", "non-negative"),
    ("variable=employment_type&weights=language&targets=en:1,en:2", "targets", "given twice"),
    (
        "variable=employment_type&weights=language&targets=en:1e308,zh-hans:1e308",
        "targets",
        "at most",
    ),
    (
        "variable=employment_type&weights=language&targets=en:1e-200,zh-hans:1",
        "targets",
        "at least",
    ),
    ("variable=employment_type&weights=language&targets=en:inf,zh-hans:1", "targets", "finite"),
    ("variable=employment_type&weights=language&targets=en:nan,zh-hans:1", "targets", "finite"),
    ("variable=employment_type&weights=years_experience&targets=1:1", "weights", "categorical"),
    ("variable=employment_type&weights=nope&targets=a:1", "weights", "Unknown variable"),
    ("variable=employment_type&language=fr", "language", "Unknown language 'fr'"),
    ("variable=employment_type&lang=xx", "lang", "Unknown language 'xx'"),
    ("variable=employment_type&status=deleted", "status", "not a valid choice"),
]


@pytest.mark.parametrize(("query", "field", "message"), STATISTICS_CASES)
def test_bad_statistics_queries(owner_client, default_survey, query, field, message):
    response = owner_client.get(f"{API}/surveys/{default_survey.slug}/statistics/?{query}")
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    errors = response.json()
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors


def test_weights_missing_a_stratum_in_the_data(owner_client, default_survey):
    respond(default_survey, {"employment_type": "staff"}, language="en")
    respond(default_survey, {"employment_type": "freelance"}, language="zh-hans")
    # A Chinese-language respondent exists, but the targets give no share for that stratum.
    url = f"{API}/surveys/{default_survey.slug}/statistics/"
    response = owner_client.get(
        url, {"variable": "employment_type", "weights": "language", "targets": "en:1"}
    )
    assert response.status_code == 400
    assert "strata missing from the targets" in response.json()["targets"][0]
    # A positive target for a stratum nobody is in cannot be reached either.
    response = owner_client.get(
        url,
        {
            "variable": "employment_type",
            "weights": "employment_type",
            "targets": "staff:1,freelance:1,agency:1,mixed:1,other:1",
        },
    )
    assert response.status_code == 400
    assert "no respondents" in response.json()["targets"][0]


@pytest.mark.parametrize(
    ("stat", "variable", "targets"),
    [
        ("count", "employment_type", "en:1e308,zh-hans:1e308"),
        ("count", "employment_type", "en:1e-200,zh-hans:1"),
        ("mean", "years_experience", "en:1e-200,zh-hans:1"),
        ("mean", "years_experience", "en:1e308,zh-hans:1e-308"),
    ],
)
def test_extreme_weighting_targets_are_refused(
    owner_client, default_survey, stat, variable, targets
):
    # With respondents in both strata, so that the weights would really be computed.
    for i in range(12):
        answers = {"employment_type": "staff", "years_experience": str(i)}
        respond(default_survey, answers, language="en" if i % 2 else "zh-hans")
    response = owner_client.get(
        f"{API}/surveys/{default_survey.slug}/statistics/",
        {"variable": variable, "stat": stat, "weights": "language", "targets": targets},
    )
    assert response.status_code == 400, response.content[:300]
    assert "targets" in response.json()


def test_unknown_variable_message_says_where_to_look(owner_client, default_survey):
    response = owner_client.get(
        f"{API}/surveys/{default_survey.slug}/statistics/", {"variable": "nope"}
    )
    assert f"/api/v1/surveys/{default_survey.slug}/" in response.json()["variable"][0]


RESPONSES_CASES = [
    ("page_size=0", "page_size", "between 1 and 500"),
    ("page_size=501", "page_size", "between 1 and 500"),
    ("page_size=ten", "page_size", "between 1 and 500"),
    ("updated_since=yesterday", "updated_since", "Datetime has wrong format"),
    ("updated_since=2024-02-30T00:00:00Z", "updated_since", "Datetime has wrong format"),
    ("updated_since=", "updated_since", "empty"),
    ("cursor=not-a-cursor", "cursor", "Invalid cursor"),
    ("status=deleted", "status", "not a valid choice"),
    # Well-formed cursors with a forged position: base64 of "p=abc" and of "o=x".
    ("cursor=cD1hYmM%3D", "cursor", "Invalid cursor"),
    ("cursor=bz14", "cursor", "Invalid cursor"),
    ("cursor=cD0yMDI0LTEzLTQ1VDAwOjAwOjAw", "cursor", "Invalid cursor"),  # p=2024-13-45T00:00:00
]


@pytest.mark.parametrize(("query", "field", "message"), RESPONSES_CASES)
def test_bad_responses_queries(owner_client, default_survey, query, field, message):
    response = owner_client.get(f"{API}/surveys/{default_survey.slug}/responses/?{query}")
    assert response.status_code == 400, response.content[:300]
    errors = response.json()
    assert any(message in text for text in errors[field]), errors
