"""Throttle and rate-limit counters never store a client's address or a user id in the cache."""

from __future__ import annotations

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

ADDRESS = "198.51.100.77"
# Whatever cache the leg runs on (Redis in the second), the keys are read from a local one.
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@override_settings(CACHES=LOCAL_CACHE)
def test_no_cache_key_holds_an_address(db, default_survey, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    throttles = LocMemCache("throttle-keys", {})
    monkeypatch.setattr(SimpleRateThrottle, "cache", throttles)
    cache.clear()
    default_survey.public_statistics = True
    default_survey.save()
    api = APIClient(REMOTE_ADDR=ADDRESS)
    api.get(f"/api/v1/surveys/{default_survey.slug}/", REMOTE_ADDR=ADDRESS)
    api.post("/api/v1/auth/token/", {"username": "nobody", "password": "x"}, REMOTE_ADDR=ADDRESS)
    Client().post(f"/s/{default_survey.slug}/", {}, REMOTE_ADDR=ADDRESS)
    keys = [*throttles._cache, *cache._cache]  # type: ignore[attr-defined]
    assert len(keys) >= 4  # API throttles, sign-in limits, the respondent limiter
    for key in keys:
        assert ADDRESS not in key and "nobody" not in key, key
    throttles.clear()
