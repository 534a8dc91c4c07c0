"""Statistics API benchmark: a two-way cross-tab with two filters against the raw SQL GROUP BY.

The API request (in-process through DRF's APIClient with a token, so no network or server):

    GET /api/v1/surveys/<slug>/statistics/?variable=exposure_matrix_rates_fallen&by=occupation
        &filter=country:US&filter=lost_work:1&from=<a year ago>

timed over --requests requests after warm-up, against one SQL statement computing the same cells
(responses by occupation and agreement, with the same date and filters). The two are timed in
alternation, so that whatever else the machine is doing weighs on both alike. Every figure is
cold in the sense that matters: the API keeps no result cache, so each request runs its query.
Before timing, the answers are vacuumed and analysed, as autovacuum does after a bulk load, so
that index-only scans can skip the table (for the raw SQL as much as for the API). Usage::

    python bench/api_statistics.py [--count 200000] [--requests 30] [--json] [--explain]

Generates responses into the PostgreSQL database exposure_bench (or BENCH_DATABASE_URL) when it
holds fewer than --count. --explain prints EXPLAIN ANALYZE of both queries. The API's published
cell counts are checked against the raw SQL's before anything is timed.
Targets: p95 <= 100 ms at 1,000,000 responses, and p95 <= 3x the raw SQL.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from _common import DEFAULT_COUNT, bench_setup, bench_user, median, percentile

VARIABLE = ("exposure_matrix", "rates_fallen")
BY = "occupation"
FILTERS = (("country", "US"), ("lost_work", "1"))
TARGET_P95_MS = 100.0
TARGET_RATIO = 3.0

RAW_SQL = """
SELECT o.choice, m.choice, COUNT(*)
FROM surveys_response r
LEFT JOIN surveys_answer o ON o.response_id = r.id AND o.question_id = %(occupation)s
    AND o.row = ''
LEFT JOIN surveys_answer m ON m.response_id = r.id AND m.question_id = %(matrix)s
    AND m.row = %(row)s
WHERE r.survey_id = %(survey)s AND r.status = 'complete' AND r.submitted_at >= %(since)s
  AND EXISTS (SELECT 1 FROM surveys_answer c WHERE c.response_id = r.id
              AND c.question_id = %(country)s AND c.row = '' AND c.choice = %(country_code)s)
  AND EXISTS (SELECT 1 FROM surveys_answer l WHERE l.response_id = r.id
              AND l.question_id = %(lost)s AND l.row = '' AND l.boolean)
GROUP BY 1, 2
"""


def _timed_in_turn(calls: dict[str, Callable[[], object]], repeat: int, warmup: int = 3) -> dict:
    """Milliseconds per call of each callable, run in alternation (order swapped every round)."""
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            calls[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeat):
        for name in names if round_ % 2 == 0 else reversed(names):
            started = time.perf_counter()
            calls[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def _explain(cursor: Any, sql: str, params: Any) -> str:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    return "\n".join(row[0] for row in cursor.fetchall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args(argv)

    survey = bench_setup(args.count, quiet=args.json)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from surveys.core.apitokens import api_token_issue
    from surveys.models import Question, Response

    responses = Response.objects.filter(survey=survey, status="complete").count()
    user = bench_user(survey)
    token = api_token_issue(user=user).token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    since = (timezone.now() - timedelta(days=365)).date()
    url = f"/api/v1/surveys/{survey.slug}/statistics/"
    params = {
        "variable": f"{VARIABLE[0]}_{VARIABLE[1]}",
        "by": BY,
        "filter": [f"{name}:{code}" for name, code in FILTERS],
        "from": since.isoformat(),
    }

    with connection.cursor() as cursor:  # set the visibility map, as autovacuum would
        cursor.execute("VACUUM (ANALYZE) surveys_answer, surveys_response")
    with CaptureQueriesContext(connection) as captured:
        first = client.get(url, params)
    if first.status_code != 200:
        raise SystemExit(f"statistics API answered {first.status_code}: {first.content[:500]!r}")
    api_sql = next(q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"])

    def api() -> None:
        result = client.get(url, params)
        assert result.status_code == 200, result.status_code

    ids = dict(
        Question.objects.filter(survey=survey).values_list("code", "pk"),
    )
    sql_params = {
        "occupation": ids["occupation"],
        "matrix": ids[VARIABLE[0]],
        "row": VARIABLE[1],
        "survey": survey.pk,
        "since": timezone.make_aware(
            timezone.datetime.combine(since, timezone.datetime.min.time())
        ),
        "country": ids["country"],
        "country_code": FILTERS[0][1],
        "lost": ids["lost_work"],
    }
    cells: list[tuple] = []

    def raw() -> None:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, sql_params)
            cells[:] = cursor.fetchall()

    raw()
    published = {
        (cell["row"], cell["col"]): cell["n"]
        for line in first.json()["table"]["cells"]
        for cell in line
        if not cell["suppressed"]
    }
    for (occupation, agreement), n in published.items():
        expected = next((c for o, m, c in cells if (o, m) == (occupation, agreement)), 0)
        if n != expected:
            raise SystemExit(
                f"API and raw SQL disagree on {occupation}/{agreement}: {n} {expected}"
            )
    if args.explain:  # to stderr under --json, so that stdout stays one JSON document
        out = sys.stderr if args.json else sys.stdout
        with connection.cursor() as cursor:
            print("raw SQL:\n" + _explain(cursor, RAW_SQL, sql_params) + "\n", file=out)
            print("API's query:\n" + _explain(cursor, api_sql, None) + "\n", file=out)
    times = _timed_in_turn({"api": api, "sql": raw}, args.requests)
    api_ms, sql_ms = times["api"], times["sql"]
    matched = sum(n for *_, n in cells)
    result = {
        "responses": responses,
        "request": {"url": url, **params},
        "matched_responses": matched,
        "cells": len(cells),
        "api_ms": {"p50": median(api_ms), "p95": percentile(api_ms, 0.95)},
        "sql_ms": {"p50": median(sql_ms), "p95": percentile(sql_ms, 0.95)},
    }
    ratio = result["api_ms"]["p95"] / max(result["sql_ms"]["p95"], 1e-9)
    result["ratio_p95"] = ratio
    result["goals"] = {
        f"p95 <= {TARGET_P95_MS:.0f} ms (target at 1,000,000 responses)": result["api_ms"]["p95"]
        <= TARGET_P95_MS,
        f"p95 <= {TARGET_RATIO:.0f}x raw SQL": ratio <= TARGET_RATIO,
    }
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(
        f"{responses:,} complete responses; cross-tab {params['variable']} by {BY}, "
        f"filters {', '.join(params['filter'])}, from {since}: {matched:,} responses in "
        f"{len(cells)} cells; {args.requests} requests after warm-up, in turn with the raw SQL; "
        "no result cache (every request queries the database)\n"
    )
    header = f"{'':26s}{'raw SQL':>12s}{'API':>12s}{'ratio':>10s}"
    print(header)
    print("-" * len(header))
    for key in ("p50", "p95"):
        b, o = result["sql_ms"][key], result["api_ms"][key]
        print(f"{key + ' (ms)':26s}{b:12.1f}{o:12.1f}{o / max(b, 1e-9):9.1f}x")
    print()
    for goal, met in result["goals"].items():
        print(f"[{'x' if met else ' '}] {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
