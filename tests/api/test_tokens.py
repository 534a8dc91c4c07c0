"""API tokens: stored only as hashes, expiring, rotated and revoked through the API and admin."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api.helpers import API

PASSWORD = "a long pass phrase 1"


def _issue(client: APIClient, username: str = "api-owner") -> dict:
    answer = client.post(f"{API}/auth/token/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.content
    return answer.json()


def _as(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _every_stored_value() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


def test_tokens_are_stored_only_as_hashes(people):
    token = _issue(APIClient())["token"]
    stored = _every_stored_value()
    assert AuthToken.objects.count() == 1
    assert token not in stored and token[:15] in stored  # the lookup prefix, not the secret
    assert _as(token).get(f"{API}/surveys/").status_code == 200


def test_a_token_expires_after_the_configured_lifetime(people, settings):
    settings.EXPOSURE_API_TOKEN_TTL_HOURS = 5
    before = timezone.now()
    issued = _issue(APIClient())
    expiry = dt.datetime.fromisoformat(issued["expiry"].replace("Z", "+00:00"))
    assert before + dt.timedelta(hours=5) <= expiry <= timezone.now() + dt.timedelta(hours=5)
    client = _as(issued["token"])
    assert client.get(f"{API}/surveys/").status_code == 200
    AuthToken.objects.update(expiry=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(f"{API}/surveys/").status_code == 401
    assert not AuthToken.objects.exists()  # an expired token is deleted when it is presented


def test_rotation_replaces_the_token(people):
    old = _issue(APIClient())["token"]
    rotated = _as(old).post(f"{API}/auth/token/rotate/")
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != old and rotated.json()["expiry"]
    assert _as(old).get(f"{API}/surveys/").status_code == 401
    assert _as(new).get(f"{API}/surveys/").status_code == 200
    assert AuthToken.objects.filter(user=people.owner).count() == 1


def test_logout_revokes_the_token_sent_and_logout_all_every_token(people):
    first, second, third = (_issue(APIClient())["token"] for _ in range(3))
    other = _issue(APIClient(), "api-viewer")["token"]
    assert _as(first).post(f"{API}/auth/logout/").status_code == 204
    assert _as(first).get(f"{API}/surveys/").status_code == 401
    assert _as(second).get(f"{API}/surveys/").status_code == 200
    assert _as(second).post(f"{API}/auth/logout-all/").status_code == 204
    for token in (second, third):
        assert _as(token).get(f"{API}/surveys/").status_code == 401
    assert _as(other).get(f"{API}/surveys/").status_code == 200  # another user's token stays


@pytest.mark.parametrize("path", ["auth/token/rotate/", "auth/logout/", "auth/logout-all/"])
def test_token_management_needs_a_token(people, path):
    assert APIClient().post(f"{API}/{path}").status_code == 401
    session = APIClient(enforce_csrf_checks=False)
    session.force_login(people.owner)
    # A browser session cannot rotate or revoke tokens: they act on the token that was sent.
    assert session.post(f"{API}/{path}").status_code == 401
    assert _as("0" * 64).post(f"{API}/{path}").status_code == 401


def test_the_admin_issues_a_token_shown_once_and_lists_its_expiry(people):
    admin = Client()
    admin.force_login(people.superuser)
    page = admin.post(
        "/admin/knox/authtoken/add/", {"user": people.viewer.pk, "lifetime_hours": "2"}
    )
    assert page.status_code == 200
    token = re.search(r'<code id="api-token">([0-9a-f]{64})</code>', page.content.decode())
    assert token is not None
    assert _as(token.group(1)).get(f"{API}/surveys/").status_code == 200
    row = AuthToken.objects.get(user=people.viewer)
    assert row.expiry is not None
    lifetime = row.expiry - row.created
    assert dt.timedelta(hours=2) - dt.timedelta(minutes=1) < lifetime <= dt.timedelta(hours=2)
    listing = admin.get("/admin/knox/authtoken/").content.decode()
    assert "API tokens" in listing and "api-viewer" in listing and "valid" in listing
    assert token.group(1) not in listing and token.group(1) not in _every_stored_value()
    assert "messages" not in admin.cookies  # the secret never travels in a message cookie
