"""A value kept in Django's cache (Redis when configured), computed anyway when the cache is down.

Statistics tables, the public results page and the "answered so far" counter are each computed
once per survey data version and kept here under a key that holds that version: a write that
changes the figures moves the version on, so a stale entry is never read again, and it expires
after `seconds`. With the cache unreachable the value is computed as if nothing were cached (as
the rate limits carry on without it) and a warning is logged: a visitor never sees an error
because Redis is down.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from surveys.core.ratelimit import CACHE_ERRORS

logger = logging.getLogger(__name__)

T = TypeVar("T")


def cache_seconds() -> int:
    """How long a value computed per data version is kept (EXPOSURE_STATISTICS_CACHE_SECONDS; 0:
    not cached)."""
    return int(getattr(settings, "EXPOSURE_STATISTICS_CACHE_SECONDS", 300))


def cache_key(prefix: str, survey_id: int, parts: Mapping[str, Any]) -> str:
    """`prefix:survey:digest`, the digest a hash of `parts` (JSON, keys sorted)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f"{prefix}:{survey_id}:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def cached(*, key: str, seconds: int, compute: Callable[[], T], what: str) -> T:
    """The value under `key`, or `compute()`'s, then kept for `seconds` (0 or less: not cached).

    `what` names the value in the warning logged when the cache cannot be reached.
    """
    if seconds <= 0:
        return compute()
    try:
        found = cache.get(key)
    except CACHE_ERRORS as error:
        logger.warning("%s computed without the cache, it is unavailable: %s", what, error)
        return compute()
    if found is not None:
        return found
    value = compute()
    try:
        cache.set(key, value, seconds)
    except CACHE_ERRORS as error:
        logger.warning("%s not cached, the cache is unavailable: %s", what, error)
    return value
