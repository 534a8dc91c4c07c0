"""Fixtures shared by the whole suite: the default, all-types and skip-logic surveys, eager
Celery, a real Celery worker."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SURVEY = ROOT / "surveys" / "fixtures" / "default_survey.json"


# Interface suites whose every test starts processes, servers or a browser: `slow` as a whole, so
# `make test-fast` (-m "not slow") leaves them to `make test`. Paths relative to tests/.
SLOW_PATHS = (
    "browser/",
    "faults/",
    "load/",
    "bench/test_bench_scripts.py",
    "security/test_bandit.py",
    "security/test_check_deploy.py",
)
# Markers and fixtures that mean a browser or a real Celery worker process.
SLOW_MARKERS = ("browser", "worker")
SLOW_FIXTURES = ("celery_worker_process", "live_server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark browser, worker and process-starting tests `slow` (single tests carry the mark)."""
    here = Path(__file__).resolve().parent
    for item in items:
        relative = item.path.resolve().relative_to(here).as_posix()
        fixtures = getattr(item, "fixturenames", ())
        if (
            relative.startswith(SLOW_PATHS)
            or any(item.get_closest_marker(name) for name in SLOW_MARKERS)
            or any(name in fixtures for name in SLOW_FIXTURES)
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def default_definition() -> dict:
    return json.loads(DEFAULT_SURVEY.read_text(encoding="utf-8"))


@pytest.fixture
def default_survey(db, default_definition):  # type: ignore[no-untyped-def]
    from surveys.definitions.transfer import survey_import

    return survey_import(definition=default_definition)


@pytest.fixture
def all_types_definition() -> dict:
    """One question of every type (tests/surveys/helpers.py), a fresh copy per test."""
    from tests.surveys import helpers

    return copy.deepcopy(helpers.ALL_TYPES_DEFINITION)


@pytest.fixture
def all_types_survey(db, all_types_definition):  # type: ignore[no-untyped-def]
    from surveys.definitions.transfer import survey_import

    return survey_import(definition=all_types_definition)


@pytest.fixture
def skip_logic_survey(db):  # type: ignore[no-untyped-def]
    from surveys.definitions.transfer import survey_import
    from tests.surveys import helpers

    return survey_import(definition=copy.deepcopy(helpers.SKIP_LOGIC_DEFINITION))


@pytest.fixture(autouse=True)
def statistics_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Cached statistics, results pages and counters of responses of this test only, in memory.

    Data versions and surveys' ids start again with each test's rollback, so entries shared
    between tests (or kept in the PostgreSQL leg's Redis) would answer for other data.
    """
    from django.core.cache.backends.locmem import LocMemCache

    from surveys.analytics.memory import memory_clear
    from surveys.core import cached as cached_module

    cache = LocMemCache(f"statistics-{id(monkeypatch)}", {})
    monkeypatch.setattr(cached_module, "cache", cache)
    monkeypatch.setattr(cached_module, "process_cache", cached_module.ProcessCache())
    memory_clear()  # the stores' columns held in memory: the same ids, other data
    from surveys.results import selectors as results_selectors

    monkeypatch.setattr(results_selectors, "_recent", {})  # published surveys as last read
    yield cache
    cache.clear()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run tasks in-process for this test, whatever broker the environment configures."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


def _broker_configured() -> bool:
    return bool(settings.CELERY_BROKER_URL) and not settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A real `celery worker` process on the configured Redis, using the test database.

    Needs a broker and a database server the worker process can reach (the PostgreSQL + Redis leg
    of CI); elsewhere the tests that use it are skipped with the reason.
    """
    from django.db import connection

    if not _broker_configured():
        pytest.skip("no Celery broker configured: real-worker tests run in the PostgreSQL leg")
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database server (set DATABASE_URL to PostgreSQL)")
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = {
        **os.environ,
        "DATABASE_URL": f"{url}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    celery_app.control.purge()
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "-Q",
                "default,exports",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited early:\n{log.read_text()[-3000:]}")
        if celery_app.control.ping(timeout=0.5):
            break
    else:
        process.kill()
        pytest.fail(f"the Celery worker did not answer within 60 s:\n{log.read_text()[-3000:]}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
