"""The public results page's reads: a published survey's tables as anonymous API callers get them.

Every table is one `statistics_publish(exact=False)` call, the API's own for a caller without
access to the raw responses: the same request, the same disclosure control (small cells,
complementary suppression, the rules across queries), the same numbers. Nothing here computes
a statistic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from surveys.analytics.selectors import statistics_version
from surveys.core.cached import cache_key, cache_seconds, cached
from surveys.core.databases import read_database
from surveys.models import StatisticsVersion, Survey
from surveys.statistics.guarded import statistics_publish
from surveys.statistics.requests import StatisticsInputError, statistics_request_build
from surveys.variables.catalogue import SurveyVariable

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class PublicTable:
    """One table of the page: its key in URLs, its request and the statistics' answer."""

    key: str
    variable: str
    by: str | None
    statistics: dict[str, Any]  # statistics_publish's answer, as the API sends it
    sources: tuple[dict[str, Any] | None, dict[str, Any] | None]  # (variable, by): see `_source`

    @property
    def query(self) -> dict[str, str]:
        """The API's query string for the same table (without lang)."""
        return {"variable": self.variable, **({"by": self.by} if self.by else {})}


def table_key(variable: str, by: str | None) -> str:
    """A table's name in the page's URLs: `variable`, or `variable-by-other`."""
    return f"{variable}-by-{by}" if by else variable


# The survey by its slug, with its data version, in SQL written once: compiling the ORM's query
# (with the version's join) took most of a cached page's time. Only the fields a request reads
# (the cache key's, the language's, publication); the others load when a page is made.
_SURVEY_SQL = (
    "SELECT {fields}, {version} AS results_data_version FROM {survey} s{join} WHERE s.slug = %s"
)
_REQUEST_FIELDS = (
    "id",
    "slug",
    "languages",
    "default_language",
    "min_cell_size",
    "results_tables",
    "public_statistics",
    "updated_at",
)


def _survey_sql(with_version: bool) -> str:
    survey = Survey._meta.db_table
    fields = ", ".join(f"s.{Survey._meta.get_field(name).column}" for name in _REQUEST_FIELDS)  # type: ignore[union-attr]
    if not with_version:
        return _SURVEY_SQL.format(fields=fields, version="NULL", survey=survey, join="")
    join = f" LEFT JOIN {StatisticsVersion._meta.db_table} v ON v.survey_id = s.id"
    return _SURVEY_SQL.format(
        fields=fields, version="COALESCE(v.version, 0)", survey=survey, join=join
    )


# Published surveys as last read, by slug: (monotonic time read, survey). Bounded: cleared
# when it outgrows this (slugs that answer 404 are never kept).
_recent: dict[str, tuple[float, Survey]] = {}
_RECENT_MAX = 256
_clock = time.monotonic


def results_survey(*, slug: str) -> Survey | None:
    """The survey with this slug if its results page is published, else None.

    Read from the database at most once every `EXPOSURE_RESULTS_RECHECK_SECONDS` per process
    (0: on every request), so that a page served from the cache touches no database, while
    unpublishing takes it down, and a new data version shows, within that time everywhere.
    Without a replica its data version comes in the same query (`_data_version`).
    """
    seconds = float(settings.EXPOSURE_RESULTS_RECHECK_SECONDS)
    now = _clock()
    held = _recent.get(slug) if seconds > 0 else None
    if held is not None and now - held[0] < seconds:
        return held[1]
    with_version = read_database() == DEFAULT_DB_ALIAS
    survey = next(iter(Survey.objects.raw(_survey_sql(with_version), [slug])), None)
    if survey is None or not survey.results_published:
        _recent.pop(slug, None)
        return None
    if seconds > 0:
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[slug] = (now, survey)
    return survey


def _data_version(survey: Survey) -> int:
    """The survey's data version: read with it by `results_survey` when the figures are read
    where the survey is (no replica), else where `statistics_version` reads it."""
    version = getattr(survey, "results_data_version", None)
    if read_database() == DEFAULT_DB_ALIAS and version is not None:
        return int(version)
    return statistics_version(survey_id=survey.pk)


def _source(variable: SurveyVariable) -> dict[str, Any] | None:
    """Where a respondent's own answer sits for this variable, for the comparison script.

    {"question": code, "row": matrix row or null, "choice": multiple-choice flag or null,
    "boolean": yes/no}; None for a variable no answer holds (derived, or about the response).
    """
    origin = variable.source[0] if variable.source else None
    if origin == "answer":
        return {
            "question": variable.group,
            "row": variable.source[2] or None,
            "choice": None,
            "boolean": variable.boolean,
        }
    if origin == "flag":
        return {
            "question": variable.group,
            "row": None,
            "choice": variable.source[2],
            "boolean": False,
        }
    return None


def _table(survey: Survey, spec: dict[str, Any], lang: str) -> PublicTable | None:
    variable, by = str(spec.get("variable", "")), spec.get("by") or None
    try:
        request = statistics_request_build(survey=survey, variable=variable, by=by, lang=lang)
        statistics = statistics_publish(request=request, exact=False)
    except (StatisticsInputError, ValueError, ArithmeticError) as error:
        # A question deleted since the table was chosen: the page shows the others.
        logger.warning("results table %s of %s left out: %s", spec, survey.slug, error)
        return None
    return PublicTable(
        key=table_key(variable, by),
        variable=variable,
        by=by,
        statistics=statistics,
        sources=(_source(request.variable), _source(request.by) if request.by else None),
    )


def results_tables(*, survey: Survey, lang: str) -> list[PublicTable]:
    """The tables the survey's owners chose, in their order, labelled in `lang`."""
    tables = (_table(survey, spec, lang) for spec in survey.results_tables)
    return [table for table in tables if table is not None]


def results_table_chosen(*, survey: Survey, key: str) -> bool:
    """Whether the owners chose the table of this key."""
    return any(
        table_key(str(spec.get("variable", "")), spec.get("by") or None) == key
        for spec in survey.results_tables
    )


def results_table(*, survey: Survey, key: str, lang: str) -> PublicTable | None:
    """One chosen table by its key, or None when the owners did not choose it."""
    for spec in survey.results_tables:
        if table_key(str(spec.get("variable", "")), spec.get("by") or None) == key:
            return _table(survey, spec, lang)
    return None


def results_aggregates(*, survey: Survey, lang: str) -> dict[str, Any]:
    """The page's tables as JSON, for scripts (the respondent's comparison on the thanks page)."""
    return {
        "survey": survey.slug,
        "lang": lang,
        "tables": [
            {
                "key": table.key,
                "query": table.query,
                "source": table.sources[0],
                "by_source": table.sources[1],
                "statistics": table.statistics,
            }
            for table in results_tables(survey=survey, lang=lang)
        ],
    }


def results_cached(*, survey: Survey, lang: str, part: str, compute: Callable[[], T]) -> T:
    """`compute()`'s output for one part of the page (the page's body, a CSV, the JSON), rendered
    once per data version and kept with the statistics (`EXPOSURE_STATISTICS_CACHE_SECONDS`).

    The tables it shows are each cached already; this keeps what is made of them too, since a
    page of charts and tables costs far more to render than its tables to read. The key holds
    what the output shows: the survey's data version (moved on by every write that changes a
    figure), its definition's `updated_at` and the settings the page shows or publishes by, the
    language and the day (the published period holding today is part of every table's key).
    """
    seconds = cache_seconds()
    if seconds <= 0:
        return compute()
    parts = {
        "version": _data_version(survey),
        "defined": survey.updated_at.isoformat() if survey.updated_at else None,
        "settings": [
            survey.slug,
            survey.min_cell_size,
            survey.languages,
            survey.default_language,
            survey.results_tables,
        ],
        "lang": lang,
        "part": part,
        "today": timezone.localdate().isoformat(),
    }
    return cached(
        key=cache_key("results", survey.pk, parts),
        seconds=seconds,
        compute=compute,
        what="results",
        in_process=True,  # read on every request: kept in each process too
    )
