"""API throttles that keep answering when the cache (Redis) is down: they then stop counting.

Their cache keys are keyed hashes (HMAC with SECRET_KEY) of what DRF would store in the key, so
the cache never holds a client's address or a user id.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

from surveys.core.loginlimit import login_attempt_allowed, login_retry_after
from surveys.core.ratelimit import CACHE_ERRORS, keyed_hash

logger = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as error:
            logger.warning("API throttle not applied, the cache is unavailable: %s", error)
            return True


class _HashedKey:
    def get_cache_key(self, request: Any, view: Any) -> str | None:
        key = super().get_cache_key(request, view)  # type: ignore[misc]
        return None if key is None else f"throttle_{keyed_hash(key)}"


class UserThrottle(_FailOpen, _HashedKey, UserRateThrottle):
    """Requests per signed-in user (anonymous callers per address)."""


class AnonThrottle(_FailOpen, _HashedKey, AnonRateThrottle):
    """Requests per address of anonymous callers (public statistics)."""


class TokenThrottle(_FailOpen, AnonRateThrottle):
    """Requests to the token endpoint per client address, signed in or not."""

    scope = "token"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        # AnonRateThrottle skips authenticated requests: a caller sending any valid token
        # would guess other accounts' passwords unthrottled.
        key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return f"throttle_{keyed_hash(key)}"


class LoginThrottle(BaseThrottle):
    """Password attempts per address and per username, shared with the admin's login."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        return login_attempt_allowed(request=request, username=str(username))

    def wait(self) -> float | None:
        return float(login_retry_after())
