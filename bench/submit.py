"""Submit: complete responses through the real respondent form, against a bare DRF insert view.

    python bench/submit.py [--responses 1000] [--inserts 10000] [--runs 3] [--concurrency 8]
                           [--quick] [--json]

Both servers run under gunicorn (2 sync workers) with production settings on the same PostgreSQL
database (`exposure_bench_submit`, or BENCH_SUBMIT_DATABASE) and a private redis-server serving the
cache, the rate-limit counters and the Celery broker, as in production; the respondent rate limit
are raised through EXPOSURE_RATE_LIMIT_START and _PAGE so one loopback client is not throttled.

Ours: each simulated respondent does what a browser does: GET the landing page (CSRF cookie and
token), POST consent, then for every page GET it (signed timer, the questions skip logic shows)
and POST realistic answers, ending with "submit" and the thank-you page. Baseline: POST ten
answer fields as JSON to a DRF APIView with a ModelSerializer that INSERTs one row
(bench/baseline/). The target compares page posts per second (each validates and saves a page of
answers) with baseline inserts per second: at least 0.4x, with no errors, and every response,
answer and baseline row found in the database afterwards. Runs alternate ours/baseline; medians.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _services as services

SLUG = "genai-video-creative-work"
DATABASE = "exposure_bench_submit"
TARGET_RATIO = 0.4
OCCUPATIONS = ["2655", "2656", "2651", "2166", "3431", "2654", "3521", "2641", "2643", "2431"]
COUNTRIES = ["US", "CN", "GB", "IN", "FR", "DE", "CA", "JP", "KR", "BR", "AU", "SG"]
TOOLS = ["sora", "runway", "pika", "kling", "jimeng", "hailuo", "veo", "midjourney"]
CONTACT = ["clients_request", "colleagues_use", "competing", "training_data", "likeness_scanned"]
TASKS = ["ideas", "previs", "pitching", "final_output", "post", "voice_audio", "admin"]
MATRIX_ROWS = [
    "tasks_doable",
    "clients_ask_ai",
    "rates_fallen",
    "likeness_worry",
    "training_worry",
    "tools_help",
    "new_opportunities",
]
LOST_TYPES = ["advertising", "stock", "concept_previs", "illustration_design", "voice"]
INCOME = ["under_10k", "10k_25k", "25k_50k", "50k_100k", "100k_200k", "200k_plus", "prefer_not"]

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_TIMER = re.compile(r'name="timer" value="([^"]+)"')
_FIELD = re.compile(r'name="(q_[^"]+)"')


def _corpus() -> dict[str, list[str]]:
    """Free-text answers by language, from the classifier's seed corpora (realistic lengths)."""
    texts: dict[str, list[str]] = {"en": [], "zh-hans": []}
    for path in sorted((services.REPO_ROOT / "classifier" / "data").glob("*/*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            texts[path.stem].extend(row["text"] for row in csv.DictReader(fh) if row["text"])
    return texts


def respondent(rng: random.Random, corpus: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """A respondent's language and answers to every question the default survey may show."""
    country = rng.choice(COUNTRIES)
    language = "zh-hans" if country == "CN" and rng.random() < 0.95 else "en"
    lean = rng.random()  # one latent exposure, so agreement answers hang together

    def agree(scale: int, reverse: bool = False) -> str:
        centre = (1 - lean if reverse else lean) * (scale - 1) + 1
        return str(min(scale, max(1, round(rng.gauss(centre, 0.9)))))

    def text(limit: int = 5000) -> str:
        if rng.random() >= 0.55:  # optional free text is often left empty
            return ""
        chosen = rng.choice(corpus[language])
        while len(chosen) > limit:  # the form asks for a shorter answer, as people then write
            chosen = rng.choice(corpus[language])
        return chosen

    lost = rng.random() < lean * 0.8
    answers: dict[str, Any] = {
        "q_occupation": rng.choice(OCCUPATIONS),
        "q_employment_type": rng.choice(["staff", "freelance", "agency", "mixed"]),
        "q_union_member": rng.choice(["yes", "no", "prefer_not"]),
        "q_country": country,
        "q_years_experience": str(rng.randint(0, 40)),
        "q_income_band": rng.choice(INCOME),
        "q_tools_used": rng.sample(TOOLS, rng.randint(1, 3)),
        "q_tools_contact": rng.sample(CONTACT, rng.randint(1, 2)),
        "q_tools_frequency": rng.choice(["less_monthly", "monthly", "weekly", "daily"]),
        "q_tools_tasks": rng.sample(TASKS, rng.randint(1, 3)),
        **{
            f"q_exposure_matrix__{row}": agree(5, row in ("tools_help", "new_opportunities"))
            for row in MATRIX_ROWS
        },
        "q_outlook_5y": agree(7),
        "q_lost_work": "yes" if lost else "no",
        "q_gained_work": "yes" if rng.random() < 0.2 else "no",
        "q_loss_share": rng.choice(["under_10", "10_25", "25_50", "over_50"]),
        "q_lost_work_types": rng.sample(LOST_TYPES, rng.randint(1, 2)),
        "q_gained_work_text": text(300),  # a short_text question
        "q_change_text": text(),
        "q_protect_text": text(),
        "q_anything_else": text() if rng.random() < 0.3 else "",
    }
    return language, {k: v for k, v in answers.items() if v}


@dataclass
class Tally:
    """What the load generator did and saw (shared by its threads under a lock)."""

    completed: int = 0
    posts: int = 0
    requests: int = 0
    answers: int = 0
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.first_errors) < 5:
                self.first_errors.append(what[:300])


class Browser:
    """One respondent's cookie jar over fresh loopback connections (gunicorn sync closes them)."""

    def __init__(self, base: str, language: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}
        self.language = language
        self.requests = 0

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, str, str]:
        """Send one request; returns status, Location header and body text."""
        headers = {"Accept-Language": self.language, "Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = content_type
            headers["Referer"] = f"http://{self.host}:{self.port}{path}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            text = reply.read().decode("utf-8", "replace")
            for header in reply.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            self.requests += 1
            return reply.status, reply.headers.get("Location", ""), text
        finally:
            conn.close()

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> tuple[int, str, str]:
        return self.request(
            "POST", path, urlencode(fields).encode(), "application/x-www-form-urlencoded"
        )


def complete_response(
    base: str, language: str, answers: dict[str, Any], tally: Tally
) -> tuple[int, int] | None:
    """Walk the whole form as a browser does; (page posts, answers sent) or None on an error."""
    browser = Browser(base, language)
    landing = f"/s/{SLUG}/"
    status, _, page = browser.request("GET", landing)
    token = _CSRF.search(page)
    if status != 200 or not token:
        tally.error(f"GET landing: {status}")
        return None
    fields = [("csrfmiddlewaretoken", token.group(1)), ("consent", "on"), ("adult", "on")]
    status, location, page = browser.post_form(landing, fields)
    posts, sent = 1, 0
    if status != 302 or not location.startswith("/r/"):
        tally.error(f"POST consent: {status} {page[:200]}")
        return None
    for _step in range(20):  # the default survey has nine pages at most
        path = location
        status, _, page = browser.request("GET", path)
        token, timer = _CSRF.search(page), _TIMER.search(page)
        if status != 200 or not token or not timer:
            tally.error(f"GET {path}: {status}")
            return None
        names = list(dict.fromkeys(_FIELD.findall(page)))
        fields = [("csrfmiddlewaretoken", token.group(1)), ("timer", timer.group(1))]
        for name in names:
            value = answers.get(name)
            if value:
                sent += 1
                values = value if isinstance(value, list) else [value]
                fields += [(name, v) for v in values]
        last = 'value="submit"' in page
        fields.append(("action", "submit" if last else "next"))
        status, location, page = browser.post_form(path, fields)
        posts += 1
        if status != 302:
            tally.error(f"POST {path}: {status} {page[:300]}")
            return None
        if last:
            status, _, _ = browser.request("GET", location)
            if status != 200 or "/thanks/" not in location:
                tally.error(f"after submit: {status} {location}")
                return None
            with tally.lock:
                tally.requests += browser.requests
            return posts, sent
    tally.error("the form never offered 'submit'")
    return None


def _drive(count: int, concurrency: int, job: Any) -> float:
    """Run job(i) for i in range(count) on `concurrency` threads; returns the seconds taken."""
    counter = iter(range(count))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            job(index)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run_ours(base: str, count: int, concurrency: int, seed: int) -> dict[str, Any]:
    """Complete `count` responses; rates and what the database must now hold."""
    corpus = _corpus()
    people = [respondent(random.Random(f"{seed}-{i}"), corpus) for i in range(count)]
    tally = Tally()

    def job(index: int) -> None:
        language, answers = people[index]
        done = complete_response(base, language, answers, tally)
        if done:
            with tally.lock:
                tally.completed += 1
                tally.posts += done[0]
                tally.answers += done[1]

    client_cpu = time.process_time()
    seconds = _drive(count, concurrency, job)
    client_cpu = time.process_time() - client_cpu
    return {
        "seconds": seconds,
        "client_cpu_share": client_cpu / seconds,
        "completed": tally.completed,
        "errors": tally.errors,
        "first_errors": tally.first_errors,
        "answers_sent": tally.answers,
        "requests": tally.requests,
        "responses_per_s": tally.completed / seconds,
        "page_posts_per_s": tally.posts / seconds,
        "requests_per_s": tally.requests / seconds,
        "posts_per_response": tally.posts / max(tally.completed, 1),
        "requests_per_response": tally.requests / max(tally.completed, 1),
    }


def run_baseline(base: str, count: int, concurrency: int, seed: int) -> dict[str, Any]:
    """POST `count` ten-field submissions to the bare DRF view."""
    corpus = _corpus()
    bodies = []
    for i in range(count):
        rng = random.Random(f"{seed}-{i}")
        _language, a = respondent(rng, corpus)
        bodies.append(
            json.dumps(
                {
                    "occupation": a["q_occupation"],
                    "employment_type": a["q_employment_type"],
                    "country": a["q_country"],
                    "years_experience": int(a["q_years_experience"]),
                    "income_band": a["q_income_band"],
                    "tools_used": a["q_tools_used"],
                    "lost_work": a["q_lost_work"] == "yes",
                    "outlook": int(a["q_outlook_5y"]),
                    "change_text": a.get("q_change_text", ""),
                    "protect_text": a.get("q_protect_text", ""),
                }
            ).encode()
        )
    tally = Tally()

    def job(index: int) -> None:
        browser = Browser(base, "en")
        status, _, text = browser.request("POST", "/submit/", bodies[index], "application/json")
        if status != 201:
            tally.error(f"baseline POST: {status} {text[:200]}")
            return
        with tally.lock:
            tally.completed += 1

    client_cpu = time.process_time()
    seconds = _drive(count, concurrency, job)
    client_cpu = time.process_time() - client_cpu
    return {
        "seconds": seconds,
        "client_cpu_share": client_cpu / seconds,
        "inserted": tally.completed,
        "errors": tally.errors,
        "first_errors": tally.first_errors,
        "inserts_per_s": tally.completed / seconds,
    }


def _counts() -> dict[str, int]:
    from django.db import connection

    from bench.baseline.models import TABLE
    from surveys.models import Answer, Response

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        baseline = int(cursor.fetchone()[0])
    return {
        "responses": Response.objects.filter(
            survey__slug=SLUG, status=Response.Status.COMPLETE
        ).count(),
        "answers": Answer.objects.filter(response__survey__slug=SLUG).count(),
        "baseline_rows": baseline,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=None, help="per run (default 1,000)")
    parser.add_argument("--inserts", type=int, default=None, help="baseline, per run (10,000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.quick:  # tiny sizes, unless given
        args.responses, args.inserts = args.responses or 4, args.inserts or 40
        args.runs, args.concurrency = 1, 2
    args.responses, args.inserts = args.responses or 1000, args.inserts or 10_000
    database = os.environ.get("BENCH_SUBMIT_DATABASE", DATABASE)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    log_dir = services.REPO_ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    with services.private_redis() as redis_url:
        # Past any respondent's pace: the bench is one client address sending thousands of pages.
        env = services.live_env(
            database=database,
            redis_url=redis_url,
            EXPOSURE_RATE_LIMIT="100000000/60",
            EXPOSURE_RATE_LIMIT_START="100000000/60",
            EXPOSURE_RATE_LIMIT_PAGE="100000000/60",
        )
        baseline_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.baseline.settings"}
        services.ensure_database(services.database_url(database))
        services.django_setup(baseline_env)  # the product's apps plus the baseline's table
        say(f"preparing {database} ...")
        services.prepare_database(database=database)
        from django.db import connection

        from bench.baseline.models import CREATE_SQL

        with connection.cursor() as cursor:
            cursor.execute(CREATE_SQL)
        connection.close()  # the served processes should not compete with an idle session
        ours_runs: list[dict[str, Any]] = []
        base_runs: list[dict[str, Any]] = []
        missing: list[str] = []
        with services.gunicorn_pair(
            env=env, baseline_env=baseline_env, log_dir=log_dir, name="submit"
        ) as ((ours_url, ours_pid), (base_url, base_pid)):
            # Warm both up (imports, first connections, template loading) outside the timing.
            run_ours(ours_url, max(2, args.concurrency), args.concurrency, seed=-1)
            run_baseline(base_url, 4 * args.concurrency, args.concurrency, seed=-1)
            for run in range(args.runs):
                before = _counts()
                cpu = services.cpu_seconds(ours_pid)
                ours = run_ours(ours_url, args.responses, args.concurrency, seed=run)
                # Server CPU per request shows where the time goes (the client shares the cores).
                ours["server_cpu_ms_per_request"] = (
                    1000 * (services.cpu_seconds(ours_pid) - cpu) / max(ours["requests"], 1)
                )
                after = _counts()
                cpu = services.cpu_seconds(base_pid)
                base = run_baseline(base_url, args.inserts, args.concurrency, seed=run)
                base["server_cpu_ms_per_request"] = (
                    1000 * (services.cpu_seconds(base_pid) - cpu) / max(base["inserted"], 1)
                )
                final = _counts()
                connection.close()
                ours["responses_in_db"] = after["responses"] - before["responses"]
                ours["answers_in_db"] = after["answers"] - before["answers"]
                base["rows_in_db"] = final["baseline_rows"] - after["baseline_rows"]
                if ours["responses_in_db"] != ours["completed"]:
                    missing.append(
                        f"run {run}: {ours['completed']} responses completed, "
                        f"{ours['responses_in_db']} in the database"
                    )
                if ours["answers_in_db"] != ours["answers_sent"]:
                    missing.append(
                        f"run {run}: {ours['answers_sent']} answers sent, "
                        f"{ours['answers_in_db']} in the database"
                    )
                if base["rows_in_db"] != base["inserted"]:
                    missing.append(
                        f"run {run}: {base['inserted']} baseline inserts, "
                        f"{base['rows_in_db']} rows in the database"
                    )
                ours_runs.append(ours)
                base_runs.append(base)
                say(
                    f"  run {run + 1}: {ours['responses_per_s']:.1f} responses/s, "
                    f"{ours['page_posts_per_s']:.0f} page posts/s; baseline "
                    f"{base['inserts_per_s']:.0f} inserts/s"
                )

    def med(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    ours_m = {
        k: med(ours_runs, k)
        for k in (
            "responses_per_s",
            "page_posts_per_s",
            "requests_per_s",
            "posts_per_response",
            "requests_per_response",
            "server_cpu_ms_per_request",
            "client_cpu_share",
        )
    }
    base_m = {
        k: med(base_runs, k)
        for k in ("inserts_per_s", "server_cpu_ms_per_request", "client_cpu_share")
    }
    errors = sum(r["errors"] for r in ours_runs) + sum(r["errors"] for r in base_runs)
    ratio = ours_m["page_posts_per_s"] / base_m["inserts_per_s"]
    result = {
        "benchmark": "submit",
        "machine": services.machine(),
        "responses_per_run": args.responses,
        "inserts_per_run": args.inserts,
        "runs": args.runs,
        "concurrency": args.concurrency,
        "gunicorn_workers": 2,
        "ours": ours_m,
        "baseline": base_m,
        "ratio": ratio,
        "errors": errors,
        "first_errors": [e for r in ours_runs + base_runs for e in r["first_errors"]][:5],
        "missing_rows": missing,
        "all_runs": {"ours": ours_runs, "baseline": base_runs},
        "goals": {
            f"page posts/s >= {TARGET_RATIO}x baseline inserts/s": ratio >= TARGET_RATIO,
            "no errors": errors == 0,
            "every response, answer and row in the database": not missing,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"\nsubmit, medians of {args.runs}: {ours_m['responses_per_s']:.1f} complete "
            f"responses/s = {ours_m['page_posts_per_s']:.0f} page posts/s "
            f"({ours_m['requests_per_s']:.0f} requests/s); baseline "
            f"{base_m['inserts_per_s']:.0f} inserts/s; ratio {ratio:.2f}x "
            f"(target >= {TARGET_RATIO}x); errors {errors}; missing {missing or 'none'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
