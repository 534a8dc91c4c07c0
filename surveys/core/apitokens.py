"""API tokens: issued for a limited time, stored only as hashes (django-rest-knox's AuthToken).

The secret is shown once, when it is issued; the database keeps its SHA-512 digest and its first
characters (to find the row), so a copy of the database gives no working token. Each token
expires EXPOSURE_API_TOKEN_TTL_HOURS after it was issued; rotating one replaces it by a fresh
token (the old one stops working at once); revoking deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from knox.models import AuthToken


@dataclass(frozen=True)
class IssuedToken:
    """A token as its holder receives it: the secret (shown this once) and when it expires."""

    token: str
    expiry: datetime | None
    record: AuthToken


def api_token_ttl() -> timedelta:
    """How long a token issued now stays valid."""
    return timedelta(hours=settings.EXPOSURE_API_TOKEN_TTL_HOURS)


def api_token_issue(*, user: AbstractBaseUser, ttl: timedelta | None = None) -> IssuedToken:
    """A new token for `user`, valid for `ttl` (default: the configured lifetime)."""
    instance, secret = AuthToken.objects.create(user=user, expiry=ttl or api_token_ttl())
    return IssuedToken(token=secret, expiry=instance.expiry, record=instance)


def api_token_rotate(*, token: AuthToken) -> IssuedToken:
    """Replace `token` by a fresh one for the same user; the old secret stops working now."""
    with transaction.atomic():
        user = token.user
        AuthToken.objects.filter(pk=token.pk).delete()
        return api_token_issue(user=user)


def api_token_revoke(*, token: AuthToken) -> None:
    """Delete one token (signing out the client that holds it)."""
    AuthToken.objects.filter(pk=token.pk).delete()


def api_tokens_revoke_all(*, user: AbstractBaseUser) -> int:
    """Delete every token of `user`; the number deleted."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted
