"""Processes the live benchmarks start and stop: a private Redis, gunicorn, Celery workers.

Each benchmark gets its own PostgreSQL database (created if missing, never dropped) and its own
redis-server on a spare port, so nothing it queues or counts touches the machine's Redis. Every
process started here is stopped by its pid when the `with` block ends.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
# Model artifacts trained for the bench databases (never the development ones in var/models).
MODEL_DIR = REPO_ROOT / "var" / "bench" / "models"
SECRET = "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGH"


def database_url(name: str) -> str:
    """The URL of bench database `name` on the bench PostgreSQL server."""
    return f"{PG_SERVER}/{name}"


def ensure_database(url: str) -> None:
    """Create the database of `url` if it does not exist (never drops anything)."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def postgres_available() -> str:
    """'' when the bench PostgreSQL server answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(
            f"{PG_SERVER}/postgres".replace("postgres://", "postgresql://", 1), connect_timeout=3
        ):
            return ""
    except Exception as exc:  # any failure means "not available", reported as the reason
        return f"PostgreSQL at {PG_SERVER} does not answer: {exc}"


def redis_available() -> str:
    """'' when a private redis-server can be started, else the reason it cannot."""
    return "" if shutil.which("redis-server") else "redis-server is not installed"


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, what: str, timeout: float = 60.0) -> None:
    """Poll `check()` until it is truthy; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def stop(process: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """Stop a process we started (TERM, then KILL), by its pid only."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def private_redis() -> Iterator[str]:
    """A throw-away redis-server on a spare loopback port; yields its URL (db 0)."""
    import redis

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="exposure-bench-redis-")
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: redis.Redis.from_url(url).ping(), "redis-server", 20)
        yield url
    finally:
        stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def live_env(*, database: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment of a production-like process: production settings on the bench services."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # TLS is the reverse proxy's job in production; the bench talks plain HTTP on loopback.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url(database),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # One folder per database: artifact names (codebook-vN) repeat between databases.
        "EXPOSURE_MODEL_DIR": str(MODEL_DIR / database),
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("DATABASE_CONN_MAX_AGE", None)  # production's default, whatever the shell says
    env.update(extra)
    return env


def django_setup(env: dict[str, str]) -> None:
    """Set Django up in this process with `env` (the same settings as the served processes)."""
    os.environ.update(env)
    import django

    django.setup()


def prepare_database(*, database: str, train: bool = True) -> None:
    """Create, migrate and fill bench `database`: the default survey and (if `train`) models."""
    ensure_database(database_url(database))
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from surveys.definitions.transfer import survey_import
    from surveys.models import Survey

    if not Survey.objects.filter(slug="genai-video-creative-work").exists():
        import json

        path = REPO_ROOT / "surveys" / "fixtures" / "default_survey.json"
        survey_import(definition=json.loads(path.read_text(encoding="utf-8")))
    if train:
        from django.conf import settings

        Path(settings.EXPOSURE_MODEL_DIR).mkdir(parents=True, exist_ok=True)
        call_command("classifier_setup", stdout=open(os.devnull, "w"))  # noqa: SIM115


@contextmanager
def gunicorn(
    *,
    app: str,
    env: dict[str, str],
    workers: int = 2,
    log: Path | None = None,
    wait: bool = True,
) -> Iterator[tuple[str, int]]:
    """`gunicorn app` with sync workers on a spare port; yields its base URL and master pid.

    With wait=False it yields at once (start several, then `wait_serving` each).
    """
    port = free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--workers", str(workers), "--worker-class",
         "sync", "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning"],
        cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        if wait:
            wait_serving(base, process)
        yield base, process.pid
    finally:
        stop(process)
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def gunicorn_pair(
    *, env: dict[str, str], baseline_env: dict[str, str], log_dir: Path, name: str
) -> Iterator[tuple[tuple[str, int], tuple[str, int]]]:
    """Our app and a baseline app (`baseline_env`'s settings), both `config.wsgi` under gunicorn,
    started at once and each serving before it yields ((our URL, pid), (baseline URL, pid));
    their logs are `<name>-ours.log` and `<name>-baseline.log` in `log_dir`."""
    app = "config.wsgi:application"
    with (
        gunicorn(app=app, env=env, log=log_dir / f"{name}-ours.log", wait=False) as ours,
        gunicorn(
            app=app, env=baseline_env, log=log_dir / f"{name}-baseline.log", wait=False
        ) as baseline,
    ):
        wait_serving(ours[0])  # both start at once, then each must answer
        wait_serving(baseline[0])
        yield ours, baseline


def wait_serving(base: str, process: subprocess.Popen[Any] | None = None) -> None:
    """Wait until the server at `base` answers HTTP (any status); fail if `process` exits."""

    def up() -> bool:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server for {base} exited with {process.returncode}")
        with contextlib.suppress(urllib.error.HTTPError):  # any HTTP answer means it serves
            urllib.request.urlopen(base + "/", timeout=2)
        return True

    wait_for(up, f"the server at {base}", 60)


@contextmanager
def celery_worker(
    *,
    env: dict[str, str],
    name: str,
    concurrency: int = 1,
    log: Path | None = None,
    loglevel: str = "WARNING",
) -> Iterator[subprocess.Popen[Any]]:
    """A real `celery worker` (prefork) on the default queue, named `name`; yields the process."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default",
         "--concurrency", str(concurrency), "--pool", "prefork", "-n", name,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", loglevel],
        cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield process
    finally:
        stop(process, timeout=30)
        if log:
            out.close()  # type: ignore[union-attr]


def children(pid: int) -> list[int]:
    """The pids of the descendants of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            found.append(int(kid))
            found += children(int(kid))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and its living descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for each in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def memory_mb(pid: int) -> dict[str, float]:
    """RSS and PSS (MiB) of `pid` and its descendants; PSS splits pages shared after fork."""
    rss = pss = 0.0
    for each in [pid, *children(pid)]:
        try:
            text = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) / 1024
    return {"rss_mb": round(rss, 1), "pss_mb": round(pss, 1), "processes": 1 + len(children(pid))}


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM and the date, printed with every bench table."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        ram_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        ram_kb = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_kb / 1024 / 1024, 1),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
    }
