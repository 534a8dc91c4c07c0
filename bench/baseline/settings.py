"""Production settings plus the baseline app and its single URL (bench/submit.py serves it)."""

from config.settings.production import *  # noqa: F403
from config.settings.production import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]
ROOT_URLCONF = "bench.baseline.urls"
