"""Rate limits keyed by a short-lived keyed hash of who is counted, only in the cache.

New responses are counted per client address (EXPOSURE_RATE_LIMIT_START, with a budget a shared
network can live with); the pages of a response per resume token (EXPOSURE_RATE_LIMIT_PAGE), so
that colleagues behind one address never stop each other mid-survey; other respondent forms
(withdrawal) per address (EXPOSURE_RATE_LIMIT).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

import redis.exceptions
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest

from surveys.core.errors import RateLimited

logger = logging.getLogger(__name__)
# A cache outage must never cost a respondent their answers: counting then stops (fails open).
CACHE_ERRORS = (redis.exceptions.RedisError, OSError)


def parse_limit(limit: str) -> tuple[int, int]:
    """A "count/seconds" setting as (count, seconds)."""
    count, seconds = limit.split("/")
    return int(count), int(seconds)


def keyed_hash(message: str) -> str:
    """A keyed hash (HMAC with SECRET_KEY) of `message`: counters never store who was counted."""
    return hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()[:32]


def client_address(request: HttpRequest) -> str:
    """The client's address, honouring EXPOSURE_TRUSTED_PROXIES reverse proxies in front of us."""
    proxies = getattr(settings, "EXPOSURE_TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


# The setting holding each scope's "count/seconds"; any other scope uses EXPOSURE_RATE_LIMIT.
SCOPE_SETTINGS = {"start": "EXPOSURE_RATE_LIMIT_START", "page": "EXPOSURE_RATE_LIMIT_PAGE"}


def scope_limit(scope: str) -> tuple[int, int]:
    """(count, seconds) allowed in `scope`."""
    name = SCOPE_SETTINGS.get(scope, "EXPOSURE_RATE_LIMIT")
    return parse_limit(getattr(settings, name, settings.EXPOSURE_RATE_LIMIT))


def check_rate(request: HttpRequest, scope: str, *, identity: str | None = None) -> None:
    """Count one request in `scope`; raise RateLimited past the limit.

    `identity` is who is counted (a response's resume token); by default the client's address.
    """
    count, seconds = scope_limit(scope)
    who = client_address(request) if identity is None else identity
    try:
        hits = count_hit(scope=scope, identity=who, seconds=seconds)
    except CACHE_ERRORS as error:
        logger.warning("rate limit not applied, the cache is unavailable: %s", error)
        return
    if hits > count:
        raise RateLimited()


def count_hit(*, scope: str, identity: str, seconds: int, store: BaseCache | None = None) -> int:
    """Count one hit of `identity` in `scope`'s current window; returns the window's hits.

    Raises CACHE_ERRORS when the cache cannot be reached.
    """
    window = int(time.time() // seconds)
    # The window number is part of the hashed message, so a key cannot be followed across windows
    # and expires with its window: no address, username or lasting identifier is ever stored.
    key = f"rl:{keyed_hash(f'{scope}:{window}:{identity}')}"
    store = caches[DEFAULT_CACHE_ALIAS] if store is None else store
    if isinstance(store, RedisCache):
        return _redis_hit(store, key, seconds + 1)
    if store.add(key, 1, timeout=seconds + 1):
        return 1
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.add(key, 1, timeout=seconds + 1)
        return 1


# The counter created with its expiry if missing (an int, as the cache's own serializer stores
# it), then incremented: one round trip (EVALSHA), where `add` then `incr` take three.
_HIT_SCRIPT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
return redis.call('INCR', KEYS[1])
"""
_scripts: dict[int, tuple[Any, Any]] = {}  # by connection pool: (the pool, its script)


def _redis_hit(store: RedisCache, key: str, timeout: int) -> int:
    """Count a hit in one round trip to Redis: the script, bound once per connection pool to a
    client of its own (the cache's `get_client` builds a new client, 0.3 ms, on every call)."""
    key = store.make_and_validate_key(key)
    # Django's client keeps a connection pool per server; the pool and client class are private
    # (`get_client`, public, is what costs): the rate-limit tests run on Redis in CI.
    cache_client: Any = store._cache
    pool = cache_client._get_connection_pool(write=True)
    held = _scripts.get(id(pool))
    if held is None or held[0] is not pool:
        client = cache_client._client(connection_pool=pool)
        held = _scripts[id(pool)] = (pool, client.register_script(_HIT_SCRIPT))
    script = held[1]
    return int(script(keys=[key], args=[timeout]))
