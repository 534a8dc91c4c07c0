"""With the cache (Redis) down the API keeps answering: its throttles stop counting instead."""

import pytest
import redis.exceptions
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle


class DeadCache:
    """Fails like Django's Redis cache does when the server is unreachable."""

    def get(self, *args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    set = get


@pytest.fixture
def dead_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SimpleRateThrottle, "cache", DeadCache())


def test_signed_in_researchers_are_served(dead_cache, owner_client, default_survey):
    answer = owner_client.get("/api/v1/surveys/")
    assert answer.status_code == 200
    assert default_survey.slug in answer.content.decode()


def test_public_statistics_and_tokens_are_served(dead_cache, people, default_survey):
    default_survey.public_statistics = True
    default_survey.save()
    anonymous = APIClient()
    stats = anonymous.get(
        f"/api/v1/surveys/{default_survey.slug}/statistics/", {"variable": "country"}
    )
    assert stats.status_code == 200
    token = anonymous.post(
        "/api/v1/auth/token/", {"username": "api-owner", "password": "a long pass phrase 1"}
    )
    assert token.status_code == 200 and token.json()["token"]
