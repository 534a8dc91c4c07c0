"""The live benchmarks (submit, classify, memory, results) run tiny and report what run_all reads.

They start gunicorn, Celery workers and a private redis-server against databases of their own on
the PostgreSQL server the suite uses, so they run in the PostgreSQL leg only (DATABASE_URL set to
PostgreSQL, redis-server installed) and skip elsewhere. No figure is asserted: speed is reported
by `make bench`, not tested.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def _server() -> str:
    """The suite's PostgreSQL server (without a database name), or skip with the reason."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the live benchmarks need PostgreSQL: set DATABASE_URL to a PostgreSQL URL")
    if not shutil.which("redis-server"):
        pytest.skip("the live benchmarks start a private redis-server, which is not installed")
    parts = urlsplit(url)
    return parts._replace(path="", query="", fragment="").geturl()


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "BENCH_PG_SERVER": _server(),
        # Databases of the tests' own, so a bench run in progress is never disturbed.
        "BENCH_SUBMIT_DATABASE": "exposure_bench_test_submit",
        "BENCH_CLASSIFY_DATABASE": "exposure_bench_test_classify",
        # results_page.py's (the database benchmarks' kind); BENCH_TEST_RESULTS_DATABASE renames it
        "BENCH_DATABASE_URL": f"{_server()}/"
        + os.environ.get("BENCH_TEST_RESULTS_DATABASE", "exposure_bench_test_results"),
        **env,
    }
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        environment.pop(name, None)  # the scripts choose their own settings and services
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _json(script: str, *args: str) -> dict[str, Any]:
    done = _run(str(BENCH / script), "--quick", "--json", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _machine_ok(result: dict[str, Any]) -> None:
    assert {"cpu", "cores", "ram_gib", "date"} <= set(result["machine"])
    assert result["machine"]["cores"] >= 1


def test_submit_completes_responses_through_the_form_and_counts_them_in_the_database() -> None:
    result = _json("submit.py")
    _machine_ok(result)
    assert result["benchmark"] == "submit"
    assert {"responses_per_s", "page_posts_per_s", "requests_per_s"} <= set(result["ours"])
    assert "inserts_per_s" in result["baseline"]
    assert result["errors"] == 0, result["first_errors"]
    assert result["missing_rows"] == []
    run = result["all_runs"]["ours"][0]
    assert run["completed"] == result["responses_per_run"] == run["responses_in_db"]
    assert run["answers_in_db"] == run["answers_sent"] > 0
    # consent, then every page the default survey shows (at least seven of its nine)
    assert run["posts_per_response"] >= 8
    base = result["all_runs"]["baseline"][0]
    assert base["inserted"] == result["inserts_per_run"] == base["rows_in_db"]
    assert result["ratio"] > 0
    assert set(result["goals"]) >= {"no errors", "every response, answer and row in the database"}


def test_classify_runs_every_row_to_done_on_two_workers() -> None:
    result = _json("classify.py")
    _machine_ok(result)
    assert result["benchmark"] == "classify"
    assert result["workers"] == 2
    run = result["all_runs"]["ours"][0]
    # each free-text answer is classified under the codebooks written for its question
    assert run["classifications"] == run["done"] >= result["texts"]
    assert run["failed"] == 0
    assert result["all_runs"]["baseline"][0]["classifications"] == run["classifications"]
    assert result["ours"]["per_s"] > 0 and result["baseline"]["per_s"] > 0
    assert result["goals"]["every classification done"] is True


def test_memory_reads_a_loaded_worker_beside_an_idle_one_and_bare_django() -> None:
    result = _json("memory.py")
    _machine_ok(result)
    assert result["benchmark"] == "memory"
    assert len(result["models"]) >= 2  # every shipped codebook's active model
    loaded, idle = result["loaded_worker"], result["idle_worker"]
    assert loaded["processes"] == 2  # the worker and its one prefork child
    assert loaded["rss_mb"] > result["bare_django"]["rss_mb"] > 0
    assert idle["pss_mb"] > 0 and loaded["pss_mb"] > 0
    exports = result["exports"]
    assert set(exports) == {"copy", "csv", "sav", "dta"}
    assert all(e["status"] == "done" and e["peak_rss_mb"] > 0 for e in exports.values())
    assert all(e["responses"] == exports["copy"]["responses"] > 0 for e in exports.values())
    assert all(result["goals"].values())


def test_results_page_under_load_is_checked_and_counted_beside_stored_pages() -> None:
    result = _json("results_page.py")
    _machine_ok(result)
    assert result["benchmark"] == "results"
    assert result["responses"] >= 300 and result["answered"] > 0
    # figures and counter in both languages, CSV and JSON; the baseline serves the same bytes
    assert result["problems"] == []
    assert result["cache_entries"] > 0  # the tables were served from the statistics cache
    assert result["errors"] == 0, result["first_errors"]
    ours, base = result["all_runs"]["ours"][0], result["all_runs"]["baseline"][0]
    assert set(ours["p95_ms_by_url"]) == set(base["p95_ms_by_url"]) == set(result["sizes"])
    assert len(result["sizes"]) == 7  # page, CSV and JSON in two languages, and the counter
    assert ours["requests"] > 0 and base["requests"] > 0
    assert result["ratio_p95"] > 0 and result["ratio_throughput"] > 0
    assert "no errors" in result["goals"] and len(result["goals"]) == 3


def test_run_all_prints_the_machine_and_the_chosen_benchmark_only(tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    done = _run(str(BENCH / "run_all.py"), "--only", "memory", "--quick", "--save", str(saved))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "machine: " in done.stdout
    assert "memory: worker RSS MB" in done.stdout
    assert "memory: export sav" in done.stdout
    assert "submit:" not in done.stdout and "quality:" not in done.stdout
    assert set(json.loads(saved.read_text())) == {"machine", "count", "memory"}
