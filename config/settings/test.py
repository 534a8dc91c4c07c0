"""Settings for the test suite: fast hashing, same database and broker choice as the environment."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EXPOSURE_RATE_LIMIT = "100000/60"
DEBUG = False
