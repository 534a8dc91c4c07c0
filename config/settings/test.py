"""Settings for the test suite: fast hashing, same database and broker choice as the environment."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EXPOSURE_RATE_LIMIT = "100000/60"
EXPOSURE_RATE_LIMIT_START = "100000/60"
EXPOSURE_RATE_LIMIT_PAGE = "100000/60"
DEBUG = False
# Tests change a survey and read its results page at once; the window has tests of its own.
EXPOSURE_RESULTS_RECHECK_SECONDS = 0
# Tests sign in many times from one address within minutes; tests of the limits set their own.
EXPOSURE_LOGIN_LIMIT_ADDRESS = "100000/60"
EXPOSURE_LOGIN_LIMIT_USERNAME = "100000/60"
# The replica is the test database itself: tests see one database through both aliases.
if "replica" in DATABASES:
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
