"""Fixtures of the public results page: the default survey, answered, with its page published."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from surveys.models import Survey
from tests.api.conftest import build_population

TABLES = [
    {"variable": "lost_work"},
    {"variable": "employment_type"},
    {"variable": "country"},
    {"variable": "outlook_5y"},
    {"variable": "tools_used_runway"},
    {"variable": "exposure_matrix_rates_fallen"},
    {"variable": "lost_work", "by": "employment_type"},
]


@pytest.fixture(autouse=True)
def _private_throttle_counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The API's throttle counters of this test only (the tests ask it many questions)."""
    cache = LocMemCache(f"results-throttle-{id(monkeypatch)}", {})
    monkeypatch.setattr(SimpleRateThrottle, "cache", cache)
    yield
    cache.clear()


@pytest.fixture
def answered(default_survey: Survey) -> list[dict[str, Any]]:
    return build_population(default_survey)


@pytest.fixture
def published(default_survey: Survey, answered: list[dict[str, Any]]) -> Survey:
    Survey.objects.filter(pk=default_survey.pk).update(
        public_statistics=True, results_tables=TABLES
    )
    default_survey.refresh_from_db()
    return default_survey
