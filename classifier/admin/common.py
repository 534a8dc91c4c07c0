"""Shared by the classifier's admin pages."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def admin_user(request: HttpRequest) -> User:
    """The signed-in user of an admin request; the admin site lets no anonymous user through."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user
