"""`manage.py check --deploy` on the production settings, with the environment production needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k7#p2v!q9w$e4r^t6y&u8i*o0p(a1s)d3f_g5h+j7k-l9z=x2c~v4b6n8m-0q",
    "DJANGO_ALLOWED_HOSTS": "survey.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://survey.example.org",
    "DATABASE_URL": "postgres://exposure:secret@db.internal:5432/exposure",
    "REDIS_URL": "redis://redis.internal:6379/0",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EXPOSURE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


SETTINGS_DUMP = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SECURE_PROXY_SSL_HEADER": list(s.SECURE_PROXY_SSL_HEADER),
    "EXPOSURE_TRUSTED_PROXIES": s.EXPOSURE_TRUSTED_PROXIES,
    "NUM_PROXIES": s.REST_FRAMEWORK.get("NUM_PROXIES"),
}))
"""


def _settings(**env: str) -> dict[str, object]:
    """The production settings as Django loads them from this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EXPOSURE_"))}
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_DUMP],
        cwd=ROOT,
        env={**clean, **PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_at_warning_level() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_behind_a_proxy_that_redirects_to_https_itself_check_deploy_stays_clean() -> None:
    """Turning Django's own redirect off is a declared choice, not a warning to live with."""
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_SECURE_SSL_REDIRECT="false"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _settings(DJANGO_SECURE_SSL_REDIRECT="false")["SECURE_SSL_REDIRECT"] is False


def test_production_defaults() -> None:
    assert _settings() == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        # One TLS-terminating proxy in front: the client address is the hop it appends, for the
        # respondent rate limits and the API throttles alike (a forged hop resets neither).
        "EXPOSURE_TRUSTED_PROXIES": 1,
        "NUM_PROXIES": 1,
    }


def test_an_insecure_hsts_setting_is_reported() -> None:
    """The check is live, not silenced wholesale: HSTS off is a warning again."""
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr
