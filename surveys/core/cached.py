"""A value kept in Django's cache (Redis when configured), computed anyway when the cache is down.

Statistics tables, the public results page and the "answered so far" counter are each computed
once per survey data version and kept here under a key that holds that version: a write that
changes the figures moves the version on, so a stale entry is never read again, and it expires
after `seconds`. With the cache unreachable the value is computed as if nothing were cached (as
the rate limits carry on without it) and a warning is logged: a visitor never sees an error
because Redis is down.

A value asked for on every request (the public results page) can also be kept in the process
(`in_process=True`): a few recent entries under the same key and for the same time, so that a
page sent from the cache costs no round trip to Redis and no unpickling. The key still changes
with the data, so a kept entry is never staler than Redis's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
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


class ProcessCache:
    """The `entries` most recently used values of this process, each until its expiry."""

    def __init__(self, entries: int = 32, clock: Callable[[], float] = time.monotonic) -> None:
        self.entries, self.clock = entries, clock
        self._values: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return None
            if found[0] <= self.clock():
                del self._values[key]
                return None
            self._values.move_to_end(key)
            return found[1]

    def set(self, key: str, value: Any, seconds: int) -> None:
        with self._lock:
            self._values[key] = (self.clock() + seconds, value)
            self._values.move_to_end(key)
            while len(self._values) > self.entries:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


process_cache = ProcessCache()


def cached(
    *, key: str, seconds: int, compute: Callable[[], T], what: str, in_process: bool = False
) -> T:
    """The value under `key`, or `compute()`'s, then kept for `seconds` (0 or less: not cached).

    `what` names the value in the warning logged when the cache cannot be reached; `in_process`
    keeps it in this process too (a value read on every request).
    """
    if seconds <= 0:
        return compute()
    if not in_process:
        return _shared(key=key, seconds=seconds, compute=compute, what=what)
    found = process_cache.get(key)
    if found is None:
        found = _shared(key=key, seconds=seconds, compute=compute, what=what)
        process_cache.set(key, found, seconds)
    return found


def _shared(*, key: str, seconds: int, compute: Callable[[], T], what: str) -> T:
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
