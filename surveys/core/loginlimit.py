"""Password guessing limits shared by every door that checks a password (admin, API token).

Each attempt counts against the client's address and against the username tried, both in the
same windows whatever the door: a guesser cannot spread attempts over the admin login and the
API, nor over many addresses against one account. Every attempt counts, before the password is
checked, so concurrent guesses cannot slip past the limit, and a correct password past the limit
is refused like a wrong one (the answer must not tell a guesser which password was right).

When the shared cache is unavailable the counting falls back to this process's memory instead of
stopping (the respondent pages' limiter fails open, so that no answer is lost): a cache outage
must neither lock researchers out nor lift the limit on guesses. Each web process then counts on
its own, so the limit is at most multiplied by the number of processes, never removed.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest

from surveys.core.ratelimit import CACHE_ERRORS, client_address, count_hit, parse_limit

logger = logging.getLogger(__name__)

_FALLBACK = LocMemCache("exposure-login-limits", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
REFUSAL = "Too many sign-in attempts. Please wait a while before trying again."


def _normalised(username: str) -> str:
    # "Admin" and " admin" are one account to a guesser; count them together.
    return username.strip().casefold()


def _hits(*, scope: str, identity: str, seconds: int) -> int:
    try:
        return count_hit(scope=scope, identity=identity, seconds=seconds)
    except CACHE_ERRORS as error:
        logger.warning("login limits counted in this process only, the cache is down: %s", error)
        return count_hit(scope=scope, identity=identity, seconds=seconds, store=_FALLBACK)


def login_attempt_allowed(*, request: HttpRequest, username: str) -> bool:
    """Count one sign-in attempt by this client for `username`; False once past either limit."""
    by_address, address_seconds = parse_limit(settings.EXPOSURE_LOGIN_LIMIT_ADDRESS)
    by_username, username_seconds = parse_limit(settings.EXPOSURE_LOGIN_LIMIT_USERNAME)
    address_hits = _hits(
        scope="login-address", identity=client_address(request), seconds=address_seconds
    )
    username_hits = _hits(
        scope="login-username", identity=_normalised(username), seconds=username_seconds
    )
    allowed = address_hits <= by_address and username_hits <= by_username
    if not allowed:
        logger.warning("sign-in attempt refused: too many attempts from this address or username")
    return allowed


def login_retry_after() -> int:
    """Seconds a refused client is told to wait: the longer of the two windows."""
    return max(
        parse_limit(settings.EXPOSURE_LOGIN_LIMIT_ADDRESS)[1],
        parse_limit(settings.EXPOSURE_LOGIN_LIMIT_USERNAME)[1],
    )


class LimitedAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, counting each attempt before the password is checked."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if self.request is None or not login_attempt_allowed(
            request=self.request, username=username
        ):
            raise forms.ValidationError(REFUSAL, code="rate_limited")
        return super().clean()
