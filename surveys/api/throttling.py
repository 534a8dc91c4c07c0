"""API throttles that keep answering when the cache (Redis) is down: they then stop counting."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from surveys.core.ratelimit import CACHE_ERRORS

logger = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as error:
            logger.warning("API throttle not applied, the cache is unavailable: %s", error)
            return True


class UserThrottle(_FailOpen, UserRateThrottle):
    """Requests per signed-in user (anonymous callers per address)."""


class AnonThrottle(_FailOpen, AnonRateThrottle):
    """Requests per address of anonymous callers (public statistics)."""


class TokenThrottle(_FailOpen, AnonRateThrottle):
    """Password guesses per client address."""

    scope = "token"
