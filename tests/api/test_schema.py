"""The OpenAPI schema, its documentation page, and a schemathesis run over every operation."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from surveys.models import Survey

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


def test_schema_lists_every_operation(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/v1/auth/token/",
        "/api/v1/auth/token/rotate/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/logout-all/",
        "/api/v1/surveys/",
        "/api/v1/surveys/{slug}/",
        "/api/v1/surveys/{slug}/statistics/",
        "/api/v1/surveys/{slug}/exposure/",
        "/api/v1/surveys/{slug}/responses/",
        "/api/v1/surveys/{slug}/responses/deleted/",
    }
    parameters = {
        p["name"] for p in paths["/api/v1/surveys/{slug}/statistics/"]["get"]["parameters"]
    }
    assert {
        "variable",
        "by",
        "from",
        "to",
        "filter",
        "k",
        "weights",
        "targets",
        "lang",
    } <= parameters


def test_docs_page_uses_our_own_files_and_a_strict_policy(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    policy = page["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert "style-src 'self' 'sha256-" in policy
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    # The rest of the site keeps its own policy.
    assert "sha256" not in client.get("/api/schema/")["Content-Security-Policy"]


@pytest.fixture
def wsgi_keeps_the_test_connection() -> Iterator[None]:
    """Calls through the WSGI app must not close the connection holding the test transaction.

    Django's test client does the same: it disconnects close_old_connections while it runs.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def owner_token(people, default_survey) -> Callable[[], str]:  # type: ignore[no-untyped-def]
    """A fresh token of the owner for each case: the sign-out operations revoke the one sent."""
    from surveys.core.apitokens import api_token_issue

    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=False)
    return lambda: api_token_issue(user=people.owner).token


# Real variables of the default survey: of every kind (choice, yes/no, multiple-choice flag,
# matrix row, number, classification, response attribute), so that steered examples reach the
# statistics code and its answers are checked against the documented schema, not only rejected.
CATEGORICAL = [
    "employment_type",
    "country",
    "lost_work",
    "tools_used_runway",
    "exposure_matrix_rates_fallen",
    "outlook_5y",
    "cls_change_text_displacement_risk",
    "language",
]
NUMERIC = ["years_experience", "outlook_5y", "exposure_matrix_rates_fallen"]


def _steer(case: Any, slug: str) -> None:
    """Point the case at the real survey and, for two thirds of statistics cases, real variables.

    Which third a case falls in follows from its own generated data, so the run stays
    deterministic (derandomized) while still covering pure fuzz, real variables with fuzzed
    filters, and clean requests that must answer 200.
    """
    if "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = slug
    if not case.operation.path.endswith("/statistics/") or case.query is None:
        return
    pick = zlib.crc32(repr(sorted(case.query.items(), key=str)).encode())
    if pick % 3 == 0:
        return
    if pick % 3 == 1:
        case.query["variable"] = CATEGORICAL[pick % len(CATEGORICAL)]
        return
    stat = "mean" if pick % 2 else "count"
    variables = NUMERIC if stat == "mean" else CATEGORICAL
    clean: dict[str, Any] = {"variable": variables[pick % len(variables)], "stat": stat}
    if pick % 5 < 3:
        clean["by"] = CATEGORICAL[(pick // 7) % len(CATEGORICAL)]
    for name in ("status", "k"):
        if name in case.query and (name != "k" or isinstance(case.query[name], int)):
            clean[name] = case.query[name]
    case.query.clear()
    case.query.update(clean)


def test_every_operation_of_the_schema_is_fuzzed() -> None:
    """The run below is parametrized from the schema itself: no operation can be left out."""
    operations = {
        (result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations()
    }
    assert operations == {
        ("POST", "/api/v1/auth/token/"),
        ("POST", "/api/v1/auth/token/rotate/"),
        ("POST", "/api/v1/auth/logout/"),
        ("POST", "/api/v1/auth/logout-all/"),
        ("GET", "/api/v1/surveys/"),
        ("GET", "/api/v1/surveys/{slug}/"),
        ("GET", "/api/v1/surveys/{slug}/statistics/"),
        ("GET", "/api/v1/surveys/{slug}/exposure/"),
        ("GET", "/api/v1/surveys/{slug}/responses/"),
        ("GET", "/api/v1/surveys/{slug}/responses/deleted/"),
    }


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error_or_breaks_its_schema(
    case, owner_token, default_survey, populated, wsgi_keeps_the_test_connection
):
    """Every operation, as the survey's owner on a populated survey: no 5xx, every status code
    is one the schema documents for the operation, and every body matches its documented shape
    (the errors' too)."""
    _steer(case, default_survey.slug)
    response = case.call(headers={"Authorization": f"Token {owner_token()}"})
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


ERROR_CASES = [
    # (operation, query, with the owner's token, expected status)
    ("/api/v1/surveys/{slug}/statistics/", {"variable": "no_such_variable"}, True, 400),
    ("/api/v1/surveys/{slug}/statistics/", {"variable": "country", "filter": "country"}, True, 400),
    ("/api/v1/surveys/{slug}/statistics/", {"variable": "country"}, False, 401),
    ("/api/v1/surveys/{slug}/responses/", {"status": "nope"}, True, 400),
    ("/api/v1/surveys/{slug}/responses/", {}, False, 401),
]


@pytest.mark.parametrize(("path", "query", "signed_in", "status"), ERROR_CASES)
def test_error_answers_are_documented_with_their_shape(
    path, query, signed_in, status, owner_token, default_survey, wsgi_keeps_the_test_connection
):
    case = schema[path]["GET"].Case(path_parameters={"slug": default_survey.slug}, query=query)
    headers = {"Authorization": f"Token {owner_token()}"} if signed_in else {}
    response = case.call(headers=headers)
    assert response.status_code == status
    case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])


def test_unknown_and_forbidden_surveys_answer_documented_errors(
    people, default_survey, wsgi_keeps_the_test_connection
):
    from surveys.core.apitokens import api_token_issue

    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=False)
    operation = schema["/api/v1/surveys/{slug}/responses/"]["GET"]
    for user, slug, status in [
        (people.owner, "no-such-survey", 404),
        (people.coder, default_survey.slug, 403),  # coders read no raw responses
    ]:
        case = operation.Case(path_parameters={"slug": slug}, query={})
        response = case.call(headers={"Authorization": f"Token {api_token_issue(user=user).token}"})
        assert response.status_code == status
        assert set(response.json()) == {"detail"}
        case.validate_response(
            response, checks=[status_code_conformance, response_schema_conformance]
        )


def test_the_statistics_parameters_explain_their_syntax(client):
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = document["paths"]["/api/v1/surveys/{slug}/statistics/"]["get"]
    described = {p["name"]: p.get("description", "") for p in operation["parameters"]}
    assert "VARIABLE:CODE" in described["filter"] and "filter=country:US" in described["filter"]
    assert "CODE:SHARE" in described["targets"]
    assert "VARIABLE:CODE" in operation["description"]
    assert (
        operation["parameters"][[p["name"] for p in operation["parameters"]].index("filter")][
            "schema"
        ]["type"]
        == "array"
    )
