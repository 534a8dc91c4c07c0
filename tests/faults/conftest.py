"""Fault-test fixtures: a private Redis, real worker and beat processes, probe model artifacts.

Every test starts its own redis-server (append-only file, fsync on every write) on a free
loopback port in a temporary directory, points this process's Celery app at it, starts worker
processes with distinct node names and short recovery settings, and stops all of it at the end:
the machine's Redis is never touched. The workers share the PostgreSQL test database, so these
tests need DATABASE_URL on PostgreSQL; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import kombu.pools
import pytest
import redis

from classifier import pipeline
from config.celery import app as celery_app
from tests.classifier.conftest import seed_dir, shipped_codebooks  # noqa: F401  (fixtures)
from tests.faults.probe import ProbeFeatures, read_log

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# Recovery settings of the fault tests' workers and beat: seconds instead of minutes and hours.
# Hard time limit 20 s (a SLOW batch takes 2 x 4 s), a running claim is stale after 22 s, a
# pending row is re-queued after 2 s, the sweep runs every 2 s, a poison text gets 3 attempts.
FAST_RECOVERY = {
    "CELERY_VISIBILITY_TIMEOUT": "30",
    "CELERY_TASK_TIME_LIMIT": "20",
    "EXPOSURE_CLASSIFY_STALE_SECONDS": "22",
    "EXPOSURE_CLASSIFY_PENDING_GRACE": "2",
    "EXPOSURE_CLASSIFY_SWEEP_SECONDS": "2",
    "EXPOSURE_CLASSIFY_MAX_ATTEMPTS": "3",
}
WAIT = 90.0  # the most any recovery may take in these tests, in seconds


def wait_until(
    condition: Callable[[], bool], *, what: str, timeout: float = WAIT, logs: Any = None
) -> None:
    """Poll `condition` until it holds; fail with `what` and the processes' logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"not within {timeout:.0f} s: {what}\n{logs.tails() if logs else ''}")


# --- environment ----------------------------------------------------------------------------------
@pytest.fixture
def fault_db(transactional_db) -> str:  # type: ignore[no-untyped-def]
    """The test database's URL for worker processes; skips unless it is PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(
            "fault tests run worker processes on the test database: set DATABASE_URL to "
            "PostgreSQL (the PostgreSQL + Redis leg of .ci/run)"
        )
    if not Path(REDIS_SERVER).is_file():
        pytest.skip("fault tests start their own redis-server, and none is installed")
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    user = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        user += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def _die_with_this_process(sig: int) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the test process dies (Linux), so an interrupted
    run leaves no worker or redis-server behind on a shared machine."""

    def set_parent_death_signal() -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, int(sig))  # PR_SET_PDEATHSIG

    return set_parent_death_signal


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test only; `appendfsync always`, so a crash loses no queued task.

    With `everysec` (Redis's default, and enough in production because the sweep re-queues
    anything lost) a crash may drop the last second of writes, and the restart test could not
    tell a lost queue from a slow one.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        """Start (or start again, reading the append-only file back) and wait for PING."""
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.directory,
            preexec_fn=_die_with_this_process(signal.SIGTERM),
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        pytest.fail(f"the private redis-server did not start:\n{self.log()}")

    def stop(self, *, crash: bool = False) -> None:
        """Shut down (SIGTERM, a clean shutdown) or crash it (SIGKILL)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        self.process.wait(timeout=20)
        self.process = None

    def restart(self, *, crash: bool) -> None:
        self.stop(crash=crash)
        self.start()

    def queued(self, queue: str = "default") -> int:
        return int(self.client().llen(queue))

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@pytest.fixture
def broker(fault_db: str, tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private Redis, with this process's Celery app publishing to it for the test."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(directory)
    server.start()
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_always_eager)
    _use_broker(server.url)
    conf.task_always_eager = False
    try:
        yield server
    finally:
        _use_broker(saved[0])
        conf.task_always_eager = saved[1]
        server.stop()


def _use_broker(url: str) -> None:
    """Point this process's Celery app at `url`, dropping pooled connections to the last one."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    # The producer pool is cached apart from the connection pool, keyed by the old connection.
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()
    celery_app.conf.broker_url = url


# --- worker and beat processes --------------------------------------------------------------------
@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """Worker and beat processes on the private broker; all stopped when the test ends."""

    broker: PrivateRedis
    db_url: str
    directory: Path
    processes: list[Process] = field(default_factory=list)

    def env(self, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": self.db_url,
            "CELERY_BROKER_URL": self.broker.url,
            "REDIS_URL": "",  # no cache on the machine's Redis either
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EXPOSURE_EXPORT_DIR": str(self.directory / "exports"),
            "FAULTS_NODE": name,
            **FAST_RECOVERY,
            **(extra or {}),
        }

    def _spawn(self, name: str, args: list[str], extra: dict[str, str] | None) -> Process:
        log = self.directory / f"{name}.log"
        with open(log, "ab") as out:
            # A session of its own, so that kill_9 takes the pool's child processes down too.
            popen = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *args],
                cwd=ROOT, env=self.env(name, extra), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_this_process(signal.SIGKILL),
            )  # fmt: skip
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def worker(
        self, name: str, *, queues: str = "default", extra: dict[str, str] | None = None
    ) -> Process:
        """Start a worker `name@faults` (one pool process) and wait until it answers a ping."""
        process = self._spawn(
            name,
            ["worker", "--loglevel", "INFO", "--concurrency", "1", "-n", f"{name}@faults",
             "--without-gossip", "--without-mingle", "-Q", queues],
            extra,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                pytest.fail(f"worker {name} exited early:\n{process.text()[-3000:]}")
            if celery_app.control.ping(destination=[f"{name}@faults"], timeout=0.5):
                return process
        pytest.fail(f"worker {name} did not answer within 60 s:\n{process.text()[-3000:]}")

    def beat(self) -> Process:
        """Start celery beat (it sends the sweep every EXPOSURE_CLASSIFY_SWEEP_SECONDS)."""
        schedule = self.directory / "beat-schedule"
        return self._spawn("beat", ["beat", "--loglevel", "INFO", "-s", str(schedule)], None)

    def kill_9(self, process: Process) -> None:
        """SIGKILL the process and its pool children, as a machine or OOM kill would."""
        os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=20)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait(timeout=20)

    def tails(self) -> str:
        parts = [f"--- {p.name} ---\n{p.text()[-2500:]}" for p in self.processes]
        parts.append(f"--- redis ---\n{self.broker.log()}")
        return "\n".join(parts)


@pytest.fixture
def cluster(broker: PrivateRedis, fault_db: str, tmp_path: Path) -> Iterator[Cluster]:
    directory = tmp_path / "processes"
    directory.mkdir()
    running = Cluster(broker, fault_db, directory)
    try:
        yield running
    finally:
        running.stop_all()


# --- models --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def trained(seed_dir: Path) -> dict[str, pipeline.TextClassifier]:  # noqa: F811
    """One real model per shipped codebook, trained once (pipeline only, no database)."""
    models = {}
    for slug, column, multilabel in [
        ("displacement-risk", "label", False),
        ("concerns", "labels", True),
    ]:
        texts, labels = pipeline.read_labelled_csv(
            seed_dir / slug / "en.csv", label_column=column, multilabel=multilabel
        )
        models[slug] = pipeline.train(texts, labels, multilabel=multilabel, codebook=slug, folds=3)
    return models


@dataclass
class Probe:
    """The active models of the test, wrapped so that every prediction is logged."""

    log: Path
    versions: dict[str, Any]

    def batches(self) -> list[dict[str, Any]]:
        return read_log(self.log)

    def predictions(self) -> Counter[str]:
        """How many times each text was predicted (over all codebooks and workers)."""
        return Counter(text for batch in self.batches() for text in batch["texts"])

    def workers(self) -> Counter[str]:
        """How many texts each worker predicted."""
        return Counter(b["worker"] for b in self.batches() for _ in b["texts"])


@pytest.fixture
def probe_models(
    shipped_codebooks,  # noqa: F811
    trained,
    tmp_path: Path,
) -> Callable[..., Probe]:  # type: ignore[no-untyped-def]
    """Activate probe-wrapped versions of the trained models; `delay` slows every batch."""
    from classifier.models import Codebook, ModelVersion

    def make(*, delay: float = 0.0) -> Probe:
        log = tmp_path / "predictions.jsonl"
        versions = {}
        # Both codebooks code both classify questions here (four rows a response), as in the
        # classifier's mechanics tests; the shipped one-question scope is tested there.
        Codebook.objects.filter(slug__in=list(trained)).update(question_codes=[])
        for slug, model in trained.items():
            wrapped = pipeline.TextClassifier(
                ProbeFeatures(model.features, log=log, delay=delay),
                model.estimator,
                model.calibrator,
                classes=model.classes,
                multilabel=model.multilabel,
                threshold=model.threshold,
                metadata=model.metadata,
            )
            path = tmp_path / f"{slug}-probe.joblib"
            checksum = pipeline.save(wrapped, path)
            versions[slug] = ModelVersion.objects.create(
                codebook=Codebook.objects.get(slug=slug),
                version=1,
                artifact_path=str(path),
                checksum=checksum,
                threshold=model.threshold,
                metrics=model.metadata["metrics"],
                training_size=model.metadata["training_size"],
                sklearn_version=model.metadata["sklearn_version"],
                is_active=True,
            )
        return Probe(log, versions)

    return make
