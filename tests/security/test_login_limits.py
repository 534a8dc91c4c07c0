"""Password guessing: the admin login and the API token endpoint share one limit per address and
one per username, which a valid API token, a second door or a second address does not lift."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from rest_framework.test import APIClient

from surveys.core.apitokens import api_token_issue

PASSWORD = "a long pass phrase 1"
# The limiter's in-process counts while the cache is down (locmem caches share storage by name).
FALLBACK = LocMemCache("exposure-login-limits", {})
TOKEN_URL = "/api/v1/auth/token/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def limits(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.EXPOSURE_LOGIN_LIMIT_ADDRESS = "8/900"
    settings.EXPOSURE_LOGIN_LIMIT_USERNAME = "5/900"
    cache.clear()
    FALLBACK.clear()
    yield
    FALLBACK.clear()


@pytest.fixture
def staff(db):  # type: ignore[no-untyped-def]
    User = get_user_model()
    victim = User.objects.create_user("victim", password=PASSWORD, is_staff=True)
    guesser = User.objects.create_user("guesser", password=PASSWORD)
    return victim, guesser


def _admin_login(client: Client, username: str, password: str, address: str) -> bool:
    """Post the admin's login form; True when it signed the client in."""
    answer = client.post(
        ADMIN_LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return answer.status_code == 302 and "_auth_user_id" in client.session


def test_the_admin_login_refuses_the_right_password_after_too_many_guesses(staff):
    client = Client()
    for n in range(5):
        assert not _admin_login(client, "victim", f"guess {n}", "198.51.100.20")
    assert not _admin_login(client, "victim", PASSWORD, "198.51.100.20")
    refused = client.post(
        ADMIN_LOGIN, {"username": "victim", "password": PASSWORD}, REMOTE_ADDR="198.51.100.20"
    )
    assert "Too many sign-in attempts" in refused.content.decode()


def test_the_username_limit_holds_across_addresses_and_doors(staff):
    api = APIClient()
    for n in range(3):
        wrong = api.post(
            TOKEN_URL,
            {"username": "victim", "password": f"guess {n}"},
            REMOTE_ADDR=f"198.51.100.{30 + n}",
        )
        assert wrong.status_code == 400
    for n in range(2):
        assert not _admin_login(Client(), "Victim", f"guess {n}", f"198.51.100.{40 + n}")
    # Five attempts on the account from five addresses through both doors: the sixth is refused.
    right = api.post(TOKEN_URL, {"username": "victim", "password": PASSWORD}, REMOTE_ADDR="1.2.3.4")
    assert right.status_code == 429
    assert not _admin_login(Client(), "victim", PASSWORD, "198.51.100.50")


def test_the_address_limit_holds_across_usernames(staff):
    api = APIClient()
    statuses = [
        api.post(
            TOKEN_URL, {"username": f"someone-{n}", "password": "guess"}, REMOTE_ADDR="203.0.113.5"
        ).status_code
        for n in range(9)
    ]
    assert statuses == [400] * 8 + [429]
    assert not _admin_login(Client(), "victim", PASSWORD, "203.0.113.5")
    # Another address may still sign in to the same account.
    assert _admin_login(Client(), "victim", PASSWORD, "203.0.113.6")


def test_a_valid_api_token_does_not_lift_the_limit(staff):
    _, guesser = staff
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=guesser).token}")
    statuses = [
        api.post(
            TOKEN_URL, {"username": "victim", "password": f"guess {n}"}, REMOTE_ADDR="192.0.2.9"
        ).status_code
        for n in range(6)
    ]
    assert statuses == [400] * 5 + [429]


def test_the_token_endpoints_request_throttle_counts_signed_in_callers(staff, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    _, guesser = staff
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=guesser).token}")
    statuses = [
        api.post(
            TOKEN_URL, {"username": f"user-{n}", "password": "guess"}, REMOTE_ADDR="192.0.2.10"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


def test_login_limits_still_count_while_the_cache_is_down(staff, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    api = APIClient()
    right = api.post(
        TOKEN_URL, {"username": "victim", "password": PASSWORD}, REMOTE_ADDR="10.9.8.7"
    )
    assert right.status_code == 200  # researchers can still sign in
    statuses = [
        api.post(
            TOKEN_URL, {"username": "victim", "password": "guess"}, REMOTE_ADDR="10.9.8.7"
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [400] * 4 + [429]  # and guesses are still counted (in this process)
