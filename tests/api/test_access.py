"""Who may call what: the allow/deny matrix of every API route, for each kind of caller."""

from __future__ import annotations

import pytest
from rest_framework.throttling import SimpleRateThrottle

from surveys.models import AuditEntry, Survey
from tests.api.helpers import API, token_client

CALLERS = ["anonymous", "other", "viewer", "coder", "editor", "owner", "superuser"]
ROUTES = {
    "detail": "/surveys/{slug}/",
    "statistics": "/surveys/{slug}/statistics/?variable=employment_type",
    "responses": "/surveys/{slug}/responses/",
}
# A survey whose statistics are not public: strangers cannot tell it from a missing one.
PRIVATE = {
    "anonymous": {"detail": 401, "statistics": 401, "responses": 401},
    "other": {"detail": 404, "statistics": 404, "responses": 404},
    "viewer": {"detail": 200, "statistics": 200, "responses": 200},
    "coder": {"detail": 200, "statistics": 200, "responses": 403},
    "editor": {"detail": 200, "statistics": 200, "responses": 200},
    "owner": {"detail": 200, "statistics": 200, "responses": 200},
    "superuser": {"detail": 200, "statistics": 200, "responses": 200},
}
# public_statistics: anyone reads the structure and the statistics, never the raw responses.
PUBLIC = {
    **PRIVATE,
    "anonymous": {"detail": 200, "statistics": 200, "responses": 401},
    "other": {"detail": 200, "statistics": 200, "responses": 403},
}
UNKNOWN = {caller: 401 if caller == "anonymous" else 404 for caller in CALLERS}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_private_survey_matrix(client_of, default_survey, caller, route):
    response = client_of(caller).get(API + ROUTES[route].format(slug=default_survey.slug))
    assert response.status_code == PRIVATE[caller][route], response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if response.status_code == 401:
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_public_survey_matrix(client_of, default_survey, caller, route):
    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=True)
    response = client_of(caller).get(API + ROUTES[route].format(slug=default_survey.slug))
    assert response.status_code == PUBLIC[caller][route], response.content[:300]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_unknown_survey_looks_like_a_stranger_s(client_of, people, caller, route):
    response = client_of(caller).get(API + ROUTES[route].format(slug="no-such-survey"))
    assert response.status_code == UNKNOWN[caller]


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("anonymous", None),
        ("other", []),
        ("viewer", "viewer"),
        ("coder", "coder"),
        ("editor", "editor"),
        ("owner", "owner"),
        ("superuser", "owner"),
    ],
)
def test_survey_list_matrix(client_of, default_survey, caller, expected):
    Survey.objects.create(slug="someone-elses", title={"en": "Theirs"}, consent_text={"en": "."})
    response = client_of(caller).get(f"{API}/surveys/")
    if caller == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    slugs = {s["slug"]: s for s in response.json()}
    if expected == []:
        assert slugs == {}
        return
    mine = slugs[default_survey.slug]
    assert mine["role"] == expected
    assert mine["title"] == default_survey.title
    assert mine["responses_complete"] == 0
    # Only a superuser sees surveys on which they hold no role.
    assert ("someone-elses" in slugs) == (caller == "superuser")


def test_public_detail_carries_no_raw_data(client_of, default_survey):
    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=True)
    data = client_of("anonymous").get(f"{API}/surveys/{default_survey.slug}/").json()
    assert data["role"] is None
    assert set(data) == {
        "slug", "title", "description", "status", "languages", "default_language",
        "public_statistics", "min_cell_size", "role", "responses_complete", "pages", "variables",
        "codebooks",
    }  # fmt: skip


def test_inactive_user_and_bad_token_are_refused(people, default_survey):
    people.viewer.is_active = False
    people.viewer.save()
    assert token_client(people.viewer).get(f"{API}/surveys/").status_code == 401
    client = token_client()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(f"{API}/surveys/").status_code == 401


def test_role_removed_means_no_access(client_of, people, default_survey):
    client = client_of("viewer")
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    assert client.get(url).status_code == 200
    people.viewer.survey_roles.all().delete()
    assert client.get(url).status_code == 404


def test_token_endpoint(people):
    client = token_client()
    good = client.post(
        f"{API}/auth/token/", {"username": "api-owner", "password": "a long pass phrase 1"}
    )
    assert good.status_code == 200 and len(good.json()["token"]) == 64 and good.json()["expiry"]
    bad = client.post(f"{API}/auth/token/", {"username": "api-owner", "password": "wrong"})
    assert bad.status_code == 400
    assert client.get(f"{API}/auth/token/").status_code == 405
    authed = token_client()
    authed.credentials(HTTP_AUTHORIZATION=f"Token {good.json()['token']}")
    assert authed.get(f"{API}/surveys/").status_code == 200


def test_reading_raw_responses_is_audited(client_of, default_survey):
    client = client_of("viewer")
    client.get(f"{API}/surveys/{default_survey.slug}/responses/")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT, survey=default_survey)
    assert entry.actor_name == "api-viewer"


def test_throttling_per_user_and_per_address(monkeypatch, client_of, default_survey):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})
    owner, viewer = client_of("owner"), client_of("viewer")
    statuses = [owner.get(f"{API}/surveys/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert viewer.get(f"{API}/surveys/").status_code == 200  # counted per user
    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=True)
    url = f"{API}/surveys/{default_survey.slug}/statistics/?variable=language"
    anonymous = token_client(address="198.51.100.7")
    assert [anonymous.get(url).status_code for _ in range(3)] == [200, 200, 429]


def test_token_endpoint_limits_password_guesses(monkeypatch, people):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    client = token_client(address="198.51.100.8")
    attempts = [
        client.post(f"{API}/auth/token/", {"username": "api-owner", "password": "guess"})
        for _ in range(4)
    ]
    assert [a.status_code for a in attempts] == [400, 400, 400, 429]


def test_json_only_even_for_browsers(client_of, default_survey):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client_of("owner").get(f"{API}/surveys/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "Content-Security-Policy" in response
