"""Per-client rate limits keyed by a short-lived keyed hash of the address, only in the cache."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import redis.exceptions
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from surveys.core.errors import RateLimited

logger = logging.getLogger(__name__)
# A cache outage must never cost a respondent their answers: counting then stops (fails open).
CACHE_ERRORS = (redis.exceptions.RedisError, OSError)


def _limit() -> tuple[int, int]:
    count, seconds = settings.EXPOSURE_RATE_LIMIT.split("/")
    return int(count), int(seconds)


def client_address(request: HttpRequest) -> str:
    """The client's address, honouring EXPOSURE_TRUSTED_PROXIES reverse proxies in front of us."""
    proxies = getattr(settings, "EXPOSURE_TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def check_rate(request: HttpRequest, scope: str) -> None:
    """Count one request of this client in `scope`; raise RateLimited past the limit."""
    count, seconds = _limit()
    window = int(time.time() // seconds)
    # The window number is part of the hashed message, so a key cannot be followed across windows
    # and expires with its window: no address or lasting identifier is ever stored.
    message = f"{scope}:{window}:{client_address(request)}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]
    key = f"rl:{digest}"
    try:
        hits = _count(key, seconds)
    except CACHE_ERRORS as error:
        logger.warning("rate limit not applied, the cache is unavailable: %s", error)
        return
    if hits > count:
        raise RateLimited()


def _count(key: str, seconds: int) -> int:
    if cache.add(key, 1, timeout=seconds + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds + 1)
        return 1
