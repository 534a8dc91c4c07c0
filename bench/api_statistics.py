"""Statistics API benchmark: a two-way cross-tab with two filters against the raw SQL GROUP BY.

The API request (in-process through DRF's APIClient with a token, so no network or server):

    GET /api/v1/surveys/<slug>/statistics/?variable=exposure_matrix_rates_fallen&by=occupation
        &filter=country:US&filter=lost_work:1&from=<a year ago>

timed over --requests requests after warm-up, four ways: the API as it runs (counting from the
analytics store, one row per response), the API on the answers table as before the store (the
store switched off for those requests), and one SQL statement computing the same cells on each
(responses by occupation and agreement, with the same date and filters: a self-join of the
answers, and a GROUP BY of the store). The four are timed in alternation, so that whatever else
the machine is doing weighs on all alike. The store is (re)built first when it is missing or
does not hold every complete response, and the time that took is reported. Every figure is
cold in the sense that matters: the statistics result cache is switched off for the run
(`EXPOSURE_STATISTICS_CACHE_SECONDS=0`), so each request runs its query.
Before timing, the answers are vacuumed and analysed, as autovacuum does after a bulk load, so
that index-only scans can skip the table (for the raw SQL as much as for the API). Usage::

    python bench/api_statistics.py [--count 200000] [--requests 30] [--json] [--explain]

Generates responses into the PostgreSQL database exposure_bench (or BENCH_DATABASE_URL) when it
holds fewer than --count. --explain prints EXPLAIN ANALYZE of both queries. The API's published
cell counts are checked against the raw SQL's before anything is timed.
Targets: p95 <= 100 ms at 1,000,000 responses, and p95 <= 3x the raw SQL on the store.
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
from unittest import mock

from _common import (
    DEFAULT_COUNT,
    analytics_store_ready,
    bench_setup,
    bench_user,
    median,
    percentile,
)

VARIABLE = ("exposure_matrix", "rates_fallen")
BY = "occupation"
FILTERS = (("country", "US"), ("lost_work", "1"))
TARGET_P95_MS = 100.0
# The API three ways: counting the store's columns held in memory (as it runs), the store's
# GROUP BY (memory switched off), and the answers table (the store switched off too).
WAYS = ("memory", "store", "answers")
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
STORE_SQL = """
SELECT {occupation}, {matrix}, COUNT(*)
FROM {table}
WHERE submitted_at >= %(since)s AND {country} = %(country_code)s AND {lost} = 1
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


def _store_sql(survey: Any, ids: dict[str, int]) -> tuple[str, dict[str, Any], Any]:
    """The cross-tab as one GROUP BY of the store, its parameters, and the layout."""
    from surveys.analytics.layout import Layout
    from surveys.models import AnalyticsTable

    layout = Layout.from_json(AnalyticsTable.objects.get(survey=survey).layout)

    def column(code: str, row: str = "", boolean: bool = False) -> Any:
        found = layout.column(("answer", ids[code], row), boolean=boolean)
        assert found is not None, code
        return found

    columns = {
        "occupation": column("occupation"),
        "matrix": column(VARIABLE[0], VARIABLE[1]),
        "country": column("country"),
        "lost": column("lost_work", boolean=True),
    }
    sql = STORE_SQL.format(
        table=f'"{layout.table}"', **{k: f'"{c.name}"' for k, c in columns.items()}
    )
    return sql, {"country_code": columns["country"].encode(FILTERS[0][1])}, columns


def _published(data: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (cell["row"], cell["col"]): cell["n"]
        for line in data["table"]["cells"]
        for cell in line
        if not cell["suppressed"]
    }


def _explain_all(out: Any, queries: dict[str, tuple[str, Any]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name, (sql, params) in queries.items():
            print(f"{name}:\n" + _explain(cursor, sql, params) + "\n", file=out)


def _first_requests(get: Callable[[str], Any], store_table: str) -> tuple[dict, dict, float]:
    """The API's answer each way, the GROUP BY the store and answers ways send, and the first
    in-memory request's milliseconds (it loads the columns); checks that every way publishes the
    same table, that the store's way read the store and the in-memory way sent no GROUP BY."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    captured_sql: dict[str, str] = {}
    answers: dict[str, dict] = {}
    load_ms = 0.0
    for way in WAYS:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            first = get(way)
        if way == "memory":
            load_ms = (time.perf_counter() - started) * 1000
        if first.status_code != 200:
            raise SystemExit(
                f"statistics API answered {first.status_code}: {first.content[:500]!r}"
            )
        grouped = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]
        if way == "memory":
            if any(store_table in sql for sql in grouped):
                raise SystemExit("the API did not count from the columns in memory")
        else:
            captured_sql[way] = grouped[0]
        answers[way] = first.json()
    if any(answers[way]["table"] != answers["memory"]["table"] for way in WAYS):
        raise SystemExit("the API's tables from memory, the store and the answers differ")
    if store_table not in captured_sql["store"]:
        raise SystemExit("the API did not count from the analytics store")
    return answers["memory"], captured_sql, load_ms


def _check_cells(
    stored: dict, cells: list[tuple], store_cells: list[tuple], columns: dict[str, Any]
) -> None:
    """The published cells, the raw SQL's on the answers and on the store: all the same."""
    decoded = {
        (columns["occupation"].decode(o), columns["matrix"].decode(m)): n for o, m, n in store_cells
    }
    if decoded != {(o or None, m or None): n for o, m, n in cells}:
        raise SystemExit("raw SQL on the store and on the answers disagree")
    for (occupation, agreement), n in _published(stored).items():
        expected = next((c for o, m, c in cells if (o, m) == (occupation, agreement)), 0)
        if n != expected:
            raise SystemExit(
                f"API and raw SQL disagree on {occupation}/{agreement}: {n} {expected}"
            )


def _print(result: dict[str, Any], requests: int, since: Any) -> None:
    build_s = result["store_build_s"]
    built = "already complete" if build_s is None else f"built in {build_s:.1f} s"
    request = result["request"]
    print(
        f"{result['responses']:,} complete responses; cross-tab {request['variable']} by {BY}, "
        f"filters {', '.join(request['filter'])}, from {since}: "
        f"{result['matched_responses']:,} responses in {result['cells']} cells; {requests} "
        "requests after warm-up, the five in turn; no result cache (every request counts); "
        f"analytics store {built}; its columns loaded into memory by the first request in "
        f"{result['memory_load_ms']:,.0f} ms\n"
    )
    header = (
        f"{'':10s}{'store SQL':>11s}{'API':>9s}{'ratio':>7s}{'API, store SQL':>16s}"
        f"{'answers SQL':>13s}{'API, answers':>14s}"
    )
    print(header)
    print("-" * len(header))
    for key in ("p50", "p95"):
        b, o = result["store_sql_ms"][key], result["api_ms"][key]
        t = result["api_store_ms"][key]
        eb, eo = result["sql_ms"][key], result["api_eav_ms"][key]
        print(
            f"{key + ' (ms)':10s}{b:11.1f}{o:9.1f}{o / max(b, 1e-9):6.2f}x{t:16.1f}"
            f"{eb:13.1f}{eo:14.1f}"
        )
    print(
        f"\nthe API counting in memory is {result['speedup_p95']:.1f}x faster at p95 than on the "
        f"answers, {result['api_store_ms']['p95'] / max(result['api_ms']['p95'], 1e-9):.1f}x "
        "than through the store's GROUP BY\n"
    )
    for goal, met in result["goals"].items():
        print(f"[{'x' if met else ' '}] {goal}")


def _getter(client: Any, url: str, params: dict[str, Any]) -> Callable[[str], Any]:
    """GET the statistics one of the `WAYS`."""
    from django.conf import settings

    def get(way: str) -> Any:
        if way == "memory":
            return client.get(url, params)
        with mock.patch.object(settings, "EXPOSURE_ANALYTICS_MEMORY_MB", 0):
            if way == "store":
                return client.get(url, params)
            # The answers table as before the store: the store answers nothing for these.
            with mock.patch("surveys.statistics.selectors.analytics_counts", return_value=None):
                return client.get(url, params)

    return get


def _result(
    times: dict[str, list[float]],
    cells: list[tuple],
    responses: int,
    build_s: float | None,
    load_ms: float,
) -> dict[str, Any]:
    """The figures of the run, and whether the goals were met."""
    matched = sum(n for *_, n in cells)

    def summary(name: str) -> dict[str, float]:
        return {"p50": median(times[name]), "p95": percentile(times[name], 0.95)}

    result: dict[str, Any] = {
        "responses": responses,
        "matched_responses": matched,
        "cells": len(cells),
        "store_build_s": build_s,
        "memory_load_ms": load_ms,
        "api_ms": summary("api"),
        "api_store_ms": summary("api_store"),
        "store_sql_ms": summary("store_sql"),
        "api_eav_ms": summary("api_eav"),
        "sql_ms": summary("sql"),
    }
    ratio = result["api_ms"]["p95"] / max(result["store_sql_ms"]["p95"], 1e-9)
    result["ratio_p95"] = ratio
    result["ratio_eav_p95"] = result["api_eav_ms"]["p95"] / max(result["sql_ms"]["p95"], 1e-9)
    result["speedup_p95"] = result["api_eav_ms"]["p95"] / max(result["api_ms"]["p95"], 1e-9)
    result["goals"] = {
        f"p95 <= {TARGET_P95_MS:.0f} ms (target at 1,000,000 responses)": result["api_ms"]["p95"]
        <= TARGET_P95_MS,
        f"p95 <= {TARGET_RATIO:.0f}x raw SQL on the store": ratio <= TARGET_RATIO,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args(argv)

    survey = bench_setup(args.count, quiet=args.json)
    from django.conf import settings
    from django.db import connection

    # Uncached figures: a cached table would answer every timed request after the first.
    settings.EXPOSURE_STATISTICS_CACHE_SECONDS = 0
    from django.utils import timezone
    from rest_framework.test import APIClient

    from surveys.core.apitokens import api_token_issue
    from surveys.models import AnalyticsTable, Question, Response

    build_s = analytics_store_ready(survey)
    store_table = AnalyticsTable.objects.get(survey=survey).table
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
        cursor.execute(f'VACUUM (ANALYZE) surveys_answer, surveys_response, "{store_table}"')

    get = _getter(client, url, params)
    stored, captured_sql, load_ms = _first_requests(get, store_table)

    def api() -> None:
        result = get("memory")
        assert result.status_code == 200, result.status_code

    def api_store() -> None:
        result = get("store")
        assert result.status_code == 200, result.status_code

    def api_eav() -> None:
        result = get("answers")
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
    store_sql, store_params, store_columns = _store_sql(survey, ids)
    store_params["since"] = sql_params["since"]
    cells: list[tuple] = []
    store_cells: list[tuple] = []

    def raw() -> None:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, sql_params)
            cells[:] = cursor.fetchall()

    def raw_store() -> None:
        with connection.cursor() as cursor:
            cursor.execute(store_sql, store_params)
            store_cells[:] = cursor.fetchall()

    raw()
    raw_store()
    _check_cells(stored, cells, store_cells, store_columns)
    if args.explain:  # to stderr under --json, so that stdout stays one JSON document
        queries = {
            "raw SQL": (RAW_SQL, sql_params),
            "raw SQL on the store": (store_sql, store_params),
            "API's query on the store": (captured_sql["store"], None),
            "API's query on the answers": (captured_sql["answers"], None),
        }
        _explain_all(sys.stderr if args.json else sys.stdout, queries)
    times = _timed_in_turn(
        {
            "api": api,
            "sql": raw,
            "api_store": api_store,
            "api_eav": api_eav,
            "store_sql": raw_store,
        },
        args.requests,
    )
    result = _result(times, cells, responses, build_s, load_ms)
    result["request"] = {"url": url, **params}
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    _print(result, args.requests, since)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
