"""Results page under load: the public results page, its downloads and the counter, cached.

    python bench/results_page.py [--count 200000] [--users 20] [--seconds 30] [--runs 3]
                                 [--quick] [--json]

On the bench PostgreSQL database (exposure_bench, or BENCH_DATABASE_URL, filled by
generate_responses to --count complete responses, its analytics store built), the default
survey's results page is published as its owners would in the survey builder: statistics public
and the tables below, checked by the builder's own check. gunicorn (2 sync workers) serves it
with production settings and a private redis-server (the cache, the rate-limit counters). Each
URL is fetched once to fill the statistics cache (the time of that cold fetch is reported), then
checked once: the figures and the counter are on the page in both languages, the CSV has its
rows, data.json every table. Then locust, headless, runs --users users for --seconds seconds,
each fetching the next of: the page in English and in Chinese, one table's CSV and data.json in
each language, and the survey's landing page (its counter); no think time, so the server runs
flat out and the percentiles include the wait for a free worker.

Baseline, same run: the same URLs' bodies, saved from our answers, served from memory as the same
bytes and content type by a bare Django view (bench/baseline/pages.py) under the same settings,
gunicorn, middleware and locust plan: the floor of what this stack serves at these sizes. Runs
alternate ours/baseline; medians of --runs. The address rate limit (EXPOSURE_RATE_LIMIT) is
lifted, the load coming from one address; cache entries live an hour
(EXPOSURE_STATISTICS_CACHE_SECONDS) so that every timed table is a cached one.

Targets: no errors (any status but 200, any failure); p95 <= 2x the baseline's. From the cache a
page does what the floor does plus a cache read per table, the counter and the template; twice
the floor leaves that work as much time again as the stack itself takes. The counter's COUNT (run
once per data version) is timed on its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _services as services
from _common import DEFAULT_COUNT, DEFAULT_URL, SLUG, analytics_store_ready, bench_setup, percentile

LOCUSTFILE = Path(__file__).resolve().parent / "results_locust.py"
TARGET_P95_RATIO = 2.0
# As the survey builder takes them: one table a line, `variable` or `variable by other`.
TABLES = """
lost_work
employment_type
country
outlook_5y
tools_used_runway
exposure_matrix_rates_fallen
lost_work by employment_type
"""
CSV_TABLE = "lost_work-by-employment_type"
COUNTER = {"en": "At least {} people have answered so far.", "zh-hans": "目前至少已有 {} 人作答。"}


def _urls() -> list[tuple[str, str, str]]:
    """(locust name, path, baseline file name) of every URL the readers fetch."""
    base = f"/results/{SLUG}/"
    found = []
    for lang in ("en", "zh-hans"):
        found += [
            (f"page {lang}", f"{base}?lang={lang}", f"page-{lang}.html"),
            (f"csv {lang}", f"{base}{CSV_TABLE}.csv?lang={lang}", f"table-{lang}.csv"),
            (f"data.json {lang}", f"{base}data.json?lang={lang}", f"data-{lang}.json"),
        ]
    return [*found, ("counter (landing page)", f"/s/{SLUG}/", "landing.html")]


def _publish(survey: Any) -> list[dict[str, str]]:
    """Publish the survey's results page with TABLES, as the builder would save them."""
    from surveys.admin.forms import ResultsTablesField, results_tables_problems

    tables = ResultsTablesField().to_python(TABLES)
    problems = results_tables_problems(survey, tables)
    if problems:
        raise SystemExit(f"the builder refuses the tables: {problems}")
    if not survey.public_statistics or survey.results_tables != tables:
        survey.public_statistics, survey.results_tables = True, tables
        survey.save(update_fields=["public_statistics", "results_tables", "updated_at"])
    return tables


def _counter_ms(survey: Any) -> tuple[int | None, float]:
    """The published counter, and the median time (ms) of the COUNT a cache miss runs."""
    from surveys.models import Response
    from surveys.respondent.selectors import responses_answered

    complete = Response.objects.filter(survey=survey, status=Response.Status.COMPLETE)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        complete.count()
        times.append((time.perf_counter() - started) * 1000)
    return responses_answered(survey=survey), statistics.median(times)


def _fetch(url: str) -> tuple[int, str, bytes, float]:
    """GET `url`: status, content type, body and the time taken in ms."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=600) as reply:
            status, kind, body = reply.status, reply.headers.get("Content-Type", ""), reply.read()
    except urllib.error.HTTPError as error:
        status, kind, body = error.code, "", error.read()
    return status, kind, body, (time.perf_counter() - started) * 1000


def _check(name: str, body: bytes, tables: list[dict[str, str]], answered: int | None) -> str:
    """'' when the answer of `name` holds what it should, else what is wrong."""
    text = body.decode("utf-8", "replace")
    lang = "zh-hans" if "zh-hans" in name else "en"
    counted = COUNTER[lang].format(answered)
    if name.startswith(("page", "counter")) and answered and counted not in text:
        return f"{name}: the counter {counted!r} is missing"
    if name.startswith("page"):
        sections = len(re.findall(r'<section[^>]* data-table="', text))
        figures = re.findall(r'data-figure="[^"]*"[^>]*>\s*([\d.,]+)', text)
        if sections != len(tables) or not figures:
            return f"{name}: {sections} tables of {len(tables)}, {len(figures)} figures"
    if name.startswith("csv"):
        rows = list(csv.reader(text.splitlines()))
        if rows[0][:2] != ["row_code", "row_label"] or len(rows) < 4:
            return f"{name}: not the cross-tab's CSV: {text[:200]!r}"
    if name.startswith("data.json"):
        data = json.loads(text)
        totals = [t["statistics"]["table"]["total"].get("n") for t in data["tables"]]
        if len(totals) != len(tables) or not all(isinstance(n, int) and n > 0 for n in totals):
            return f"{name}: tables' totals {totals}"
    return ""


def _warm_and_check(
    base: str, tables: list[dict[str, str]], answered: int | None, folder: Path
) -> dict[str, Any]:
    """Fetch each URL cold (filling the cache), then warm; check it; save it for the baseline."""
    cold: dict[str, float] = {}
    sizes: dict[str, int] = {}
    problems: list[str] = []
    manifest: dict[str, str] = {}
    for name, path, file in _urls():
        status, _kind, _body, cold[name] = _fetch(base + path)
        status, kind, body, _ms = _fetch(base + path)
        if status != 200:
            problems.append(f"{name}: status {status}")
            continue
        problems += filter(None, [_check(name, body, tables, answered)])
        (folder / file).write_bytes(body)
        manifest[file] = kind
        sizes[name] = len(body)
    (folder / "pages.json").write_text(json.dumps(manifest), encoding="utf-8")
    return {"cold_ms": cold, "sizes": sizes, "problems": problems}


def _locust(base: str, paths: list[tuple[str, str]], users: int, seconds: int) -> dict[str, Any]:
    """One headless locust run against `base`: its counts, rates and exact percentiles."""
    with tempfile.TemporaryDirectory(prefix="exposure-bench-locust-") as scratch:
        folder = Path(scratch)
        plan = folder / "plan.json"
        plan.write_text(json.dumps({"paths": paths, "timings": str(folder / "times.json")}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
             "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
             "--host", base, "--csv", str(folder / "run"), "--only-summary",
             "--loglevel", "WARNING", "--stop-timeout", "5", "--exit-code-on-error", "0"],
            cwd=services.REPO_ROOT, env={**os.environ, "RESULTS_PLAN": str(plan)},
            capture_output=True, text=True, timeout=seconds + 120, check=False,
        )  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0 or not (folder / "times.json").is_file():
            raise SystemExit(f"locust failed ({done.returncode}): {done.stderr[-2000:]}")
        with open(folder / "run_stats.csv", encoding="utf-8", newline="") as fh:
            rows = {row["Name"]: row for row in csv.DictReader(fh)}
        timings = json.loads((folder / "times.json").read_text())
    total = rows["Aggregated"]
    times = [ms for each in timings["times"].values() for ms in each]
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]),
        "first_errors": timings["failures"],
        "requests_per_s": float(total["Requests/s"]),
        "p50_ms": percentile(times, 0.50),
        "p95_ms": percentile(times, 0.95),
        "p99_ms": percentile(times, 0.99),
        "p95_ms_by_url": {
            name: round(percentile(each, 0.95), 1) for name, each in timings["times"].items()
        },
        "mean_bytes": float(total["Average Content Size"]),
        # locust's own CPU (it shares the cores with the server): 1.0 = one core all the run
        "client_cpu_share": client_cpu / seconds,
    }


def _measured(pid: int, base: str, paths: list[tuple[str, str]], args: Any) -> dict[str, Any]:
    """One locust run's figures with the server's CPU per request (gunicorn and its workers)."""
    cpu = services.cpu_seconds(pid)
    figures = _locust(base, paths, args.users, args.seconds)
    spent = services.cpu_seconds(pid) - cpu
    figures["server_cpu_ms_per_request"] = 1000 * spent / max(figures["requests"], 1)
    return figures


def _cache_entries(redis_url: str) -> int:
    import redis

    return sum(1 for _ in redis.Redis.from_url(redis_url).scan_iter("*statistics*"))


def _prepare(count: int, quiet: bool) -> dict[str, Any]:
    """Fill the bench database, build the store, publish the page; what the runs need to know."""
    survey = bench_setup(count, quiet=quiet)
    build_s = analytics_store_ready(survey)
    tables = _publish(survey)
    answered, count_ms = _counter_ms(survey)
    from django.db import connection

    from surveys.models import Response

    complete = Response.objects.filter(survey=survey, status=Response.Status.COMPLETE).count()
    connection.close()  # the served processes should not compete with an idle session
    return {
        "responses": complete,
        "tables": tables,
        "answered": answered,
        "counter_count_ms": count_ms,
        "store_build_s": build_s,
    }


def _summary(result: dict[str, Any]) -> str:
    o, b = result["ours"], result["baseline"]
    lines = [
        f"results page under load: {result['responses']:,} responses, {result['users']} users, "
        f"{result['seconds']} s x {result['runs']} runs; medians",
        f"{'':26s}{'baseline':>14s}{'ours':>14s}{'ratio':>9s}",
        f"{'requests/s':26s}{b['requests_per_s']:>14,.1f}{o['requests_per_s']:>14,.1f}"
        f"{result['ratio_throughput']:>8.2f}x",
    ]
    for key in ("p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_request"):
        lines.append(f"{key:26s}{b[key]:>14,.1f}{o[key]:>14,.1f}{o[key] / b[key]:>8.2f}x")
    lines.append(f"{'errors':26s}{b['errors']:>14d}{o['errors']:>14d}")
    lines.append("p95 ms by URL (ours): " + ", ".join(
        f"{k} {v:,.1f}" for k, v in result["all_runs"]["ours"][0]["p95_ms_by_url"].items()
    ))  # fmt: skip
    lines.append("cold fetch ms (filling the cache): " + ", ".join(
        f"{k} {v:,.0f}" for k, v in result["cold_ms"].items()
    ))  # fmt: skip
    lines.append(
        f"counter: its COUNT takes {result['counter_count_ms']:.1f} ms (once per data version); "
        f"content check: {result['problems'] or 'passed'}"
    )
    lines += [f"[{'x' if met else ' '}] {goal}" for goal, met in result["goals"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="responses (default 200,000)")
    parser.add_argument("--users", type=int, default=None, help="locust users (default 20)")
    parser.add_argument("--seconds", type=int, default=None, help="per run (default 30)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.users = args.count or 300, args.users or 4
        args.seconds, args.runs = args.seconds or 4, 1
    args.count, args.users = args.count or DEFAULT_COUNT, args.users or 20
    args.seconds = args.seconds or 30
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    prepared = _prepare(args.count, quiet=args.json)
    say(f"{prepared['responses']:,} responses; results page published")
    log_dir = services.REPO_ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    pages = Path(tempfile.mkdtemp(prefix="exposure-bench-pages-"))
    ours_runs: list[dict[str, Any]] = []
    base_runs: list[dict[str, Any]] = []
    with services.private_redis() as redis_url:
        env = services.live_env(
            database=urlsplit(url).path.lstrip("/"),
            redis_url=redis_url,
            DATABASE_URL=url,
            EXPOSURE_RATE_LIMIT="100000000/60",  # the whole load comes from one address
            EXPOSURE_STATISTICS_CACHE_SECONDS="3600",
        )
        baseline_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.baseline.settings",
            "BENCH_BASELINE_PAGES": str(pages),
        }
        with services.gunicorn_pair(
            env=env, baseline_env=baseline_env, log_dir=log_dir, name="results"
        ) as ((ours_url, ours_pid), (base_url, base_pid)):
            say("filling the cache and checking each URL ...")
            warm = _warm_and_check(ours_url, prepared["tables"], prepared["answered"], pages)
            ours_paths = [(name, path) for name, path, _file in _urls()]
            base_paths = [(name, f"/page/{file}") for name, _path, file in _urls()]
            for name, path in base_paths:  # the baseline's first requests, outside the timing
                status, _kind, body, _ms = _fetch(base_url + path)
                if status != 200 or len(body) != warm["sizes"].get(name):
                    warm["problems"].append(f"baseline {name}: {status}, {len(body)} bytes")
            for run in range(args.runs):
                ours_runs.append(_measured(ours_pid, ours_url, ours_paths, args))
                base_runs.append(_measured(base_pid, base_url, base_paths, args))
                say(
                    f"  run {run + 1}: ours {ours_runs[-1]['requests_per_s']:.1f} requests/s, "
                    f"p95 {ours_runs[-1]['p95_ms']:.1f} ms; baseline "
                    f"{base_runs[-1]['requests_per_s']:.1f} requests/s, "
                    f"p95 {base_runs[-1]['p95_ms']:.1f} ms"
                )
            cache_entries = _cache_entries(redis_url)

    def med(runs: list[dict[str, Any]]) -> dict[str, Any]:
        keys = ("requests_per_s", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_request",
                "client_cpu_share", "mean_bytes")  # fmt: skip
        figures: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
        figures["errors"] = sum(r["errors"] for r in runs)
        figures["requests"] = sum(r["requests"] for r in runs)
        return figures

    ours, base = med(ours_runs), med(base_runs)
    ratio_p95 = ours["p95_ms"] / base["p95_ms"]
    errors = ours["errors"] + base["errors"]
    result = {
        "benchmark": "results",
        "machine": services.machine(),
        **prepared,
        "users": args.users,
        "seconds": args.seconds,
        "runs": args.runs,
        "gunicorn_workers": 2,
        "urls": [path for _name, path, _file in _urls()],
        "cold_ms": warm["cold_ms"],
        "sizes": warm["sizes"],
        "problems": warm["problems"],
        "cache_entries": cache_entries,
        "ours": ours,
        "baseline": base,
        "ratio_p95": ratio_p95,
        "ratio_throughput": ours["requests_per_s"] / base["requests_per_s"],
        "errors": errors,
        "first_errors": [e for r in ours_runs + base_runs for e in r["first_errors"]][:5],
        "all_runs": {"ours": ours_runs, "baseline": base_runs},
        "goals": {
            "no errors": errors == 0,
            "content checked, the baseline's bytes the same": not warm["problems"],
            f"p95 <= {TARGET_P95_RATIO:g}x the baseline's": ratio_p95 <= TARGET_P95_RATIO,
        },
    }
    print(json.dumps(result, indent=2) if args.json else "\n" + _summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
