"""The OpenAPI schema, its documentation page, and a schemathesis run over every operation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

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
        "/api/v1/surveys/{slug}/responses/",
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


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error(
    case, owner_token, default_survey, wsgi_keeps_the_test_connection
):
    if "slug" in (case.path_parameters or {}):
        # Mostly the real survey, so that the query parameters reach the statistics code.
        case.path_parameters["slug"] = default_survey.slug
    response = case.call(headers={"Authorization": f"Token {owner_token}"})
    case.validate_response(response, checks=[not_a_server_error])
