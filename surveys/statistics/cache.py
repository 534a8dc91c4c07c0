"""Published statistics kept in Django's cache (Redis when configured), keyed by the data version.

A table is computed once per survey data version and request: the key is a hash of the survey's
id, its data version (`analytics.selectors.statistics_version`, moved on in the transaction of
every write that changes its statistics), its definition's `updated_at` (settings such as the
minimum cell size, and every questionnaire edit, touch it), the request as resolved (variable,
by, stat, status, window, language, filters, k, weights and targets, label language), the
caller's class (exact figures or protected ones) and the published period with the period
holding today. Nothing identifies the caller: two viewers asking the same table share one entry.

Only complete responses are cached: a table of responses in progress changes with every page a
respondent sends, which moves no version. With the cache down (Redis unreachable) the table is
computed as if nothing were cached, as the throttles carry on without it.
`EXPOSURE_STATISTICS_CACHE_SECONDS` (0 turns the cache off) bounds how long an entry lives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.utils import timezone

from surveys.analytics.selectors import statistics_version
from surveys.core.cached import cache_key, cache_seconds, cached
from surveys.statistics.differencing import period_start
from surveys.statistics.requests import StatisticsRequest

KEY_PREFIX = "statistics"


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def statistics_cache_key(
    *, request: StatisticsRequest, exact: bool, version: int, period: str, today: date
) -> str:
    """The entry of `request`'s answer: the survey, its version, the request and caller class."""
    survey = request.survey
    parts = {
        "survey": survey.pk,
        "version": version,
        "defined": survey.updated_at.isoformat() if survey.updated_at else None,
        # What of the survey's own settings the answer shows, should they change without a save.
        "settings": [survey.slug, survey.min_cell_size, survey.languages, survey.default_language],
        "caller": "exact" if exact else "protected",
        "variable": request.variable.name,
        "by": request.by.name if request.by else None,
        "stat": request.stat,
        "status": request.status,
        "from": _iso(request.date_from),
        "to": _iso(request.date_to),
        "language": request.language,
        # In the order given: the answer echoes them so.
        "filters": [[variable.name, code] for variable, code in request.filters],
        "k": request.k_requested,
        "weights": request.weights.name if request.weights else None,
        "targets": [[code, share] for code, share in request.targets.items()],
        "lang": request.lang,
        "period": period,
        # Windows snap to the period holding their ends; a table is computed again when the
        # period holding today changes, whatever it depends on of the current period.
        "current": period_start(today, period).isoformat(),
    }
    return cache_key(KEY_PREFIX, survey.pk, parts)


def statistics_cached(
    *,
    request: StatisticsRequest,
    exact: bool,
    period: str,
    compute: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """`compute()`'s answer for `request`, from the cache when an entry of this version exists."""
    seconds = cache_seconds()
    if seconds <= 0 or request.status != "complete":
        return compute()
    # The version is read before the figures: an entry never holds figures older than its key.
    version = statistics_version(survey_id=request.survey.pk)
    key = statistics_cache_key(
        request=request, exact=exact, version=version, period=period, today=timezone.localdate()
    )
    return cached(key=key, seconds=seconds, compute=compute, what="statistics")
