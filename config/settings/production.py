"""Production settings: everything secret or site-specific comes from the environment.

The site runs behind one TLS-terminating reverse proxy (nginx, a load balancer) that sets
X-Forwarded-Proto and appends the client's address to X-Forwarded-For; see "Deployment" in
config/README.md.
"""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# Trusted only because the proxy overwrites the header: gunicorn must not be reachable directly.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_SSL_REDIRECT:
    # Declared in the environment: the proxy itself answers plain HTTP with a redirect to HTTPS
    # (and health checks reach gunicorn over HTTP), so Django's warning would be noise.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# The client is the last hop the proxies appended, not the TCP peer (that is the proxy, and
# all respondents would share one rate limit) nor the first hop (anyone can write that one).
# The respondent forms' limits and DRF's API throttles must agree, or a forged header would
# reset the password-guess throttle.
EXPOSURE_TRUSTED_PROXIES = env.int("EXPOSURE_TRUSTED_PROXIES", default=1)
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": EXPOSURE_TRUSTED_PROXIES}
