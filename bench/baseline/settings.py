"""Production settings plus the baseline app and its URLs (bench/submit.py and results_page.py)."""

from config.settings.production import *  # noqa: F403
from config.settings.production import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]
ROOT_URLCONF = "bench.baseline.urls"
