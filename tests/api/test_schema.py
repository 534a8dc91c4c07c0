"""The OpenAPI schema, its documentation page, and a schemathesis run over every operation."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application
from surveys.models import Survey

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


def test_schema_lists_every_operation(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/v1/auth/token/",
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
def owner_token(people, default_survey) -> str:  # type: ignore[no-untyped-def]
    from rest_framework.authtoken.models import Token

    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=False)
    return Token.objects.create(user=people.owner).key


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
        ("GET", "/api/v1/surveys/"),
        ("GET", "/api/v1/surveys/{slug}/"),
        ("GET", "/api/v1/surveys/{slug}/statistics/"),
        ("GET", "/api/v1/surveys/{slug}/exposure/"),
        ("GET", "/api/v1/surveys/{slug}/responses/"),
        ("GET", "/api/v1/surveys/{slug}/responses/deleted/"),
    }


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error_or_breaks_its_schema(
    case, owner_token, default_survey, populated, wsgi_keeps_the_test_connection
):
    """Every operation, as the survey's owner on a populated survey: no 5xx, and every answer
    that has a documented shape (the 200s) matches it."""
    _steer(case, default_survey.slug)
    response = case.call(headers={"Authorization": f"Token {owner_token}"})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
