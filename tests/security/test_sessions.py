"""Signing out ends a staff session for good: a copy of the session cookie no longer works."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client


def test_a_copied_session_cookie_is_dead_after_logout(db) -> None:  # type: ignore[no-untyped-def]
    get_user_model().objects.create_superuser("root", "root@example.org", "a long pass phrase 1")
    browser = Client()
    signed_in = browser.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "a long pass phrase 1"}
    )
    assert signed_in.status_code == 302
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lives
    assert browser.post("/admin/logout/").status_code == 200
    after = thief.get("/admin/")
    assert after.status_code == 302 and after["Location"].startswith("/admin/login/")
