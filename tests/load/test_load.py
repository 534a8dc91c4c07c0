"""A minute at several times the expected peak, on the production path, with no server error.

The expected peak. Exposure's respondents arrive through shared links; the busiest day we plan
for is a "viral" one: 10,000 completed responses in a day (the link passed round by a large
union or guild, or a post that spreads), 30% of them in its busiest hour. That hour brings
3,000 completed responses, 0.83 a second. Each takes 19 requests (the consent page, consent,
the first page, then for each of the eight pages its answers and the page that follows, the last
one the thank-you page), so about 16 requests a second from respondents. On the same day a
news article links the published statistics: readers and a couple of researchers' scripts add
about one statistics request a second.

The run offers LOAD_FACTOR (4) times that for 60 seconds: a respondent walk starts every
WALK_SECONDS / RESPONDENTS seconds (about 3.3 completions a second, 63 requests/s) and the
readers ask for a statistics cross-tab four times a second, over 2,000 responses that were
there before. A 10-second run with one respondent and one reader, just before, gives the
latency of the same requests on an idle site, printed beside the figures under load.

The site runs as in production: `config.settings.production` under gunicorn with two workers,
PostgreSQL, Redis for the cache (rate limits, throttles) and the Celery broker (each submitted
response queues its classification there, as in production).

Rate limits stay at production values, set explicitly below: EXPOSURE_RATE_LIMIT_START 300/600
per respondent address, EXPOSURE_RATE_LIMIT_PAGE 60/600 per response, API_USER_THROTTLE
1000/hour, API_ANON_THROTTLE 200/hour. Every simulated respondent and reader has an address of
its own, appended to X-Forwarded-For as the reverse proxy does, so limits apply per person as they
would on the day. A 429 is not a server error;
they are counted and reported (none are expected at these rates).

Asserted: no 5xx, no connection error, no unexpected status (a form the site refused), and
every respondent who reached the thank-you page has a complete response in the database with
their answers. Throughput and latency are reported, not asserted (they depend on the machine).
Runs only on PostgreSQL with Redis: SQLite under several processes is not the production path.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from config.celery import app as celery_app
from surveys.models import Answer, Response, Survey
from tests.surveys.helpers import DEFAULT_ANSWERS, DEFAULT_PAGES_SHOWN

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")

EXPECTED_PEAK_COMPLETIONS_PER_S = 3000 / 3600
EXPECTED_PEAK_STATISTICS_PER_S = 1.0
LOAD_FACTOR = 4
DURATION_S = 60
BASELINE_S = 10
STOP_TIMEOUT_S = 15
WALK_SECONDS = 12  # one walk per respondent user every 12 s
RESPONDENTS = round(LOAD_FACTOR * EXPECTED_PEAK_COMPLETIONS_PER_S * WALK_SECONDS)  # 40
READER_SECONDS = 2
ANONYMOUS_READERS = 6
TOKEN_READERS = 2  # (6 + 2) / 2 s = 4 statistics requests/s, four times the peak
BACKGROUND_RESPONSES = 2000
RATE_LIMITS = {
    "EXPOSURE_RATE_LIMIT": "120/600",
    "EXPOSURE_RATE_LIMIT_START": "300/600",
    "EXPOSURE_RATE_LIMIT_PAGE": "60/600",
    "API_USER_THROTTLE": "1000/hour",
    "API_ANON_THROTTLE": "200/hour",
    "API_TOKEN_THROTTLE": "30/hour",
}
QUERIES = [
    "variable=employment_type&by=country",
    "variable=lost_work&by=employment_type",
    "variable=exposure_matrix_rates_fallen&by=occupation&from=2020-01-01",
    "variable=years_experience&stat=mean&by=employment_type",
    "variable=outlook_5y&filter=country:CN",
]

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def production_site(transactional_db: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """gunicorn, two workers, production settings, on a free loopback port.

    Stopped before the test database is emptied, so no connection of its holds it up.
    """
    if connection.vendor != "postgresql":
        pytest.skip("runs gunicorn on PostgreSQL: SQLite under many processes is not production")
    if not settings.REDIS_URL:
        pytest.skip("load test needs Redis (REDIS_URL): production's cache and broker")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EXPOSURE_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EXPOSURE_TRUSTED_PROXIES": "1",
        **RATE_LIMITS,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log = tmp_path / "gunicorn.log"
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [gunicorn, "config.wsgi:application", "--workers", "2", "--bind",
             f"127.0.0.1:{port}", "--timeout", "30", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{log.read_text()[-3000:]}")
        try:
            probe = urllib.request.Request(
                url + "/withdraw/", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"gunicorn did not answer within 60 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield {"url": url, "log": log}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def load_survey(default_survey: Survey) -> Survey:
    """The default survey, its statistics published, with responses already in it."""
    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=True)
    call_command(
        "generate_responses",
        survey=default_survey.slug,
        count=BACKGROUND_RESPONSES,
        keep_indexes=True,
        verbosity=0,
    )
    # Fresh statistics for the planner, as autovacuum would have them after a bulk load; without
    # them PostgreSQL guesses an empty table and a cross-tab takes 0.9 s instead of 30 ms.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return default_survey


def _token() -> str:
    from django.contrib.auth import get_user_model

    from surveys.core.apitokens import api_token_issue
    from surveys.models import SurveyRole

    user = get_user_model().objects.create_user("load-researcher", password="a long phrase 1")
    SurveyRole.objects.create(survey=Survey.objects.get(), user=user, role="viewer")
    return api_token_issue(user=user).token


def _run_locust(
    url: str, workdir: Path, plan: dict[str, Any], *, users: int, seconds: int
) -> dict[str, Any]:
    """One headless locust run; what it counted, its per-request statistics and failures."""
    workdir.mkdir()
    plan_file, results = workdir / "plan.json", workdir / "results.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    env = {**os.environ, "LOAD_PLAN": str(plan_file), "LOAD_RESULTS": str(results)}
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    run = subprocess.run(
        [locust, "-f", str(LOCUSTFILE), "--headless", "--host", url,
         "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
         "--stop-timeout", str(STOP_TIMEOUT_S), "--csv", str(workdir / "load"), "--only-summary",
         "--loglevel", "WARNING", "--exit-code-on-error", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    outcome = json.loads(results.read_text(encoding="utf-8"))
    with open(workdir / "load_stats.csv", encoding="utf-8") as stats:
        outcome["stats"] = {row["Name"]: row for row in csv.DictReader(stats)}
    outcome["failures"] = (workdir / "load_failures.csv").read_text(encoding="utf-8")
    outcome["locust_output"] = run.stderr[-4000:]
    return outcome


def _report(baseline: dict[str, Any], outcome: dict[str, Any], completed_in_db: int) -> str:
    counts, stats = outcome["counts"], outcome["stats"]
    total, alone = stats["Aggregated"], baseline["stats"]["Aggregated"]
    completed = len(outcome["completed"])
    lines = [
        f"load: {DURATION_S} s at {LOAD_FACTOR}x the expected peak "
        f"({EXPECTED_PEAK_COMPLETIONS_PER_S:.2f} completions/s and "
        f"{EXPECTED_PEAK_STATISTICS_PER_S:.0f} statistics request/s); gunicorn, 2 workers",
        f"  baseline, one respondent and one reader for {BASELINE_S} s: "
        f"{float(alone['Requests/s']):.1f} requests/s, median {alone['50%']} ms, "
        f"p95 {alone['95%']} ms",
        f"  under load, in the {DURATION_S} s window: {total['Request Count']} requests, "
        f"{float(total['Requests/s']):.1f}/s, median {total['50%']} ms, p95 {total['95%']} ms, "
        f"p99 {total['99%']} ms",
        f"  walks started {counts.get('walks_started', 0)}, completed {completed} (walks under "
        f"way at the end may finish in a {STOP_TIMEOUT_S} s wind-down; offered "
        f"{LOAD_FACTOR * EXPECTED_PEAK_COMPLETIONS_PER_S:.2f} walks/s), {completed_in_db} of "
        "them found in the database",
        f"  over the whole run, {counts.get('requests', 0)} requests: "
        f"5xx {counts.get('status_5xx', 0)}, connection errors "
        f"{counts.get('connection_errors', 0)}, 429 {counts.get('rate_limited', 0)}, "
        f"unexpected {counts.get('unexpected', 0)}",
    ]
    for name, row in sorted(stats.items()):
        if name != "Aggregated":
            lines.append(
                f"    {name}: {row['Request Count']} req, median {row['50%']} ms, "
                f"p95 {row['95%']} ms, max {float(row['Max Response Time']):.0f} ms"
            )
    return "\n".join(lines)


def _stored_walks() -> set[str]:
    """The walk ids found in the free-text answers of complete responses."""
    texts = Answer.objects.filter(
        question__code="change_text", response__status=Response.Status.COMPLETE
    ).values_list("text", flat=True)
    return {m.group(1) for text in texts if (m := re.search(r"\[([0-9a-f]{32})\]$", text))}


def test_a_minute_at_several_times_the_expected_peak(
    production_site: dict[str, Any], load_survey: Survey, tmp_path: Path, capsys: Any
) -> None:
    plan = {
        "slug": load_survey.slug,
        "pages": [[code, DEFAULT_ANSWERS[code]] for code in DEFAULT_PAGES_SHOWN],
        "walk_seconds": WALK_SECONDS,
        "reader_seconds": READER_SECONDS,
        "anonymous_readers": ANONYMOUS_READERS,
        "token_readers": TOKEN_READERS,
        "queries": QUERIES,
        "token": _token(),
        "address_octet": random.randrange(1, 255),
    }
    url = production_site["url"]
    before = Response.objects.filter(status=Response.Status.COMPLETE).count()
    try:
        # The same requests with nobody else on the site: the latency to compare against.
        alone = {**plan, "anonymous_readers": 0, "token_readers": 1, "walk_seconds": 0}
        alone["address_octet"] = plan["address_octet"] % 254 + 1  # addresses of its own
        baseline = _run_locust(url, tmp_path / "baseline", alone, users=2, seconds=BASELINE_S)
        outcome = _run_locust(
            url,
            tmp_path / "load",
            plan,
            users=RESPONDENTS + ANONYMOUS_READERS + TOKEN_READERS,
            seconds=DURATION_S,
        )
    finally:
        # Each submitted response queued its classification on the test broker; no worker of
        # this test takes them, so they must not wait there for a later test's worker.
        celery_app.control.purge()
    completed = set(baseline["completed"]) | set(outcome["completed"])
    stored = _stored_walks()
    report = _report(baseline, outcome, len(stored & set(outcome["completed"])))
    with capsys.disabled():
        print("\n" + report)
    log_tail = production_site["log"].read_text(errors="replace")[-3000:]
    detail = f"{report}\n{outcome['failures']}\n{outcome['locust_output']}\n{log_tail}"

    for run in (baseline, outcome):
        assert run["counts"].get("status_5xx", 0) == 0, detail
        assert run["counts"].get("connection_errors", 0) == 0, detail
        assert run["counts"].get("unexpected", 0) == 0, detail
    assert baseline["completed"] and outcome["completed"], detail  # walks reached the end
    assert completed <= stored, detail
    completed_now = Response.objects.filter(status=Response.Status.COMPLETE).count() - before
    assert completed_now >= len(completed), detail


def test_a_forged_forwarded_address_does_not_reset_the_password_throttle(
    production_site: dict[str, Any],
) -> None:
    """Behind the proxy, only the hop it appended identifies the client: the token endpoint's
    30 guesses an hour hold however the client fills in X-Forwarded-For itself."""
    client = f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    codes = []
    for n in range(int(RATE_LIMITS["API_TOKEN_THROTTLE"].split("/")[0]) + 2):
        request = urllib.request.Request(
            production_site["url"] + "/api/v1/auth/token/",
            data=b"username=nobody&password=wrong",
            headers={
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": f"198.51.100.{n % 250 + 1}, {client}",  # forged, then real
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                codes.append(answer.status)
        except urllib.error.HTTPError as error:
            codes.append(error.code)
    assert codes[0] == 400 and codes[-1] == 429, codes
