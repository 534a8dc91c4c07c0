"""Shared set-up of the database benchmarks: a dedicated PostgreSQL database holding N responses.

``bench_setup(count)`` points Django at ``exposure_bench`` (or ``BENCH_DATABASE_URL``), creates the
database if needed, migrates, imports the default survey and tops it up with generated responses
until it holds at least `count` complete ones. It never touches the development database.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/exposure_bench"
SLUG = "genai-video-creative-work"
DEFAULT_COUNT = 200_000
# The speed baseline of the exports: a survey's complete answers, as PostgreSQL copies them out.
COPY_SQL = """
COPY (
    SELECT a.response_id, a.question_id, a.row, a.choice, a.choices, a.number, a.boolean, a.text
    FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id
    WHERE r.survey_id = {survey:d} AND r.status = 'complete'
) TO STDOUT WITH CSV
"""


def _ensure_database(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_setup(count: int, *, quiet: bool = False) -> Any:
    """Configure Django on the bench database with >= `count` complete responses; the survey."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG keeps every query in memory
    os.environ.setdefault("REDIS_URL", "")
    os.environ["API_USER_THROTTLE"] = "1000000/hour"
    # The bench streams far more rows than a browser download is allowed to.
    os.environ["EXPOSURE_EXPORT_STREAM_MAX_ROWS"] = str(10**9)
    _ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from surveys.definitions.transfer import survey_import
    from surveys.management.commands.generate_responses import generate
    from surveys.models import Response, Survey

    survey = Survey.objects.filter(slug=SLUG).first()
    if survey is None:
        import json

        path = REPO_ROOT / "surveys" / "fixtures" / "default_survey.json"
        survey = survey_import(definition=json.loads(path.read_text(encoding="utf-8")))
    present = Response.objects.filter(survey=survey, status="complete").count()
    if present < count:
        missing = count - present
        if not quiet:
            print(f"generating {missing:,} responses into {url.rsplit('/', 1)[-1]} ...", flush=True)
        started = time.perf_counter()
        for _ in generate(survey=survey, count=missing, seed=present):
            pass
        seconds = time.perf_counter() - started
        if not quiet:
            print(f"  {missing / seconds:,.0f} responses/s", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give
        cursor.execute("ANALYZE surveys_response")
        cursor.execute("ANALYZE surveys_answer")
    return survey


def analytics_store_ready(survey: Any) -> float | None:
    """Seconds taken to (re)build the survey's analytics store; None when it was complete."""
    from django.db import connection

    from surveys.analytics.services import analytics_rebuild
    from surveys.models import AnalyticsTable, Response

    store = AnalyticsTable.objects.filter(survey=survey, stale=False).first()
    complete = Response.objects.filter(survey=survey, status="complete").count()
    if store is not None:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT COUNT(*) FROM "{store.table}"')
            if cursor.fetchone()[0] == complete:
                return None
    started = time.perf_counter()
    analytics_rebuild(survey=survey)
    return time.perf_counter() - started


def bench_user(survey: Any) -> Any:
    """A researcher who owns the survey (created once)."""
    from django.contrib.auth import get_user_model

    from surveys.models import SurveyRole

    user, _ = get_user_model().objects.get_or_create(username="bench-researcher")
    SurveyRole.objects.get_or_create(survey=survey, user=user, defaults={"role": "owner"})
    return user


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)
