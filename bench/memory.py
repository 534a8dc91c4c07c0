"""Memory: a Celery worker's resident memory with every active model loaded, beside idle baselines.

    python bench/memory.py [--runs 3] [--concurrency 1] [--quick] [--json]

Ours: a real `celery worker` (prefork, production settings, the classify bench's database and a
private redis-server) is made to load every active model by classifying one free-text answer under
each codebook in a single classify_batch task; then the resident memory of the worker and its
pool children is read from /proc (RSS, and PSS, which splits the pages the children share with
the parent after fork). Baselines, measured in the same run: the same worker idle (started, no
task run yet) and a bare Python process with Django set up. Medians of --runs fresh workers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _services as services
from classify import DATABASE, _answers

SETTLE_SECONDS = 1.0  # let the allocator settle before reading /proc


def _bare_django(env: dict[str, str]) -> dict[str, float]:
    """Memory of a Python process that has only set Django up."""
    code = (
        "import sys, django; django.setup(); "
        "sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=services.REPO_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("the bare Django process did not start")
        time.sleep(SETTLE_SECONDS)
        return services.memory_mb(process.pid)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(10)


def _wait_ready(log: Path, process: subprocess.Popen[Any]) -> None:
    def ready() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"the worker exited with {process.returncode}; see {log}")
        return " ready." in log.read_text(errors="replace")

    services.wait_for(ready, "celery worker", 90)


def _load_models(answer_id: int) -> int:
    """Classify one answer under every active codebook (one task); wait until the rows are done."""
    from classifier.models import Classification
    from classifier.runs import services as classifier_services
    from surveys.models import Answer

    # Every answer of the response the classifier codes: each codebook codes its own questions.
    response_id = Answer.objects.filter(pk=answer_id).values_list("response_id", flat=True)
    answer_ids = list(
        Answer.objects.filter(response_id__in=response_id).values_list("pk", flat=True)
    )
    Classification.objects.filter(answer_id__in=answer_ids).delete()
    ids = classifier_services.classifications_create(answer_ids=answer_ids)
    services.wait_for(
        lambda: (
            not Classification.objects.filter(
                pk__in=ids, status__in=["pending", "running"]
            ).exists()
        ),
        "classification of one answer",
        120,
    )
    failed = Classification.objects.filter(pk__in=ids).exclude(status="done").count()
    if failed:
        raise SystemExit(f"{failed} of {len(ids)} classifications did not end done")
    return len(ids)


def _measure(env: dict[str, str], answer_id: int, concurrency: int, log: Path) -> dict[str, Any]:
    log.write_text("")
    with services.celery_worker(
        env=env, name="bench-memory@%h", concurrency=concurrency, log=log, loglevel="INFO"
    ) as process:
        _wait_ready(log, process)
        time.sleep(SETTLE_SECONDS)
        idle = services.memory_mb(process.pid)
        classified = _load_models(answer_id)
        time.sleep(SETTLE_SECONDS)
        loaded = services.memory_mb(process.pid)
    return {"idle": idle, "loaded": loaded, "classified": classified}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1, help="prefork children")
    parser.add_argument("--quick", action="store_true", help="one run (tests)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    database = os.environ.get("BENCH_CLASSIFY_DATABASE", DATABASE)
    log = services.REPO_ROOT / "var" / "bench" / "memory-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with services.private_redis() as redis_url:
        env = services.live_env(database=database, redis_url=redis_url)
        services.ensure_database(services.database_url(database))
        services.django_setup(env)
        from django.conf import settings
        from django.db import connection

        from classifier.training import selectors

        say(f"preparing {database} ...")
        services.prepare_database(database=database)
        answer_id = _answers(1, say)[0]
        versions = [
            selectors.codebook_active_version(codebook=c)
            for c in selectors.codebooks_with_active_version()
        ]
        on_disk = sum(selectors.model_version_path(version=v).stat().st_size for v in versions if v)
        connection.close()
        bare_runs, worker_runs = [], []
        for run in range(args.runs):
            bare_runs.append(_bare_django(env))
            worker_runs.append(_measure(env, answer_id, args.concurrency, log))
            w = worker_runs[-1]
            say(
                f"  run {run + 1}: bare Django {bare_runs[-1]['rss_mb']:.0f} MB; worker idle "
                f"{w['idle']['rss_mb']:.0f} MB, with models {w['loaded']['rss_mb']:.0f} MB RSS "
                f"({w['loaded']['pss_mb']:.0f} MB PSS, {w['loaded']['processes']} processes)"
            )
        model_dir = str(settings.EXPOSURE_MODEL_DIR)

    def med(runs: list[dict[str, Any]], *path: str) -> float:
        values = []
        for run in runs:
            value: Any = run
            for key in path:
                value = value[key]
            values.append(value)
        return round(statistics.median(values), 1)

    result = {
        "benchmark": "memory",
        "machine": services.machine(),
        "runs": args.runs,
        "concurrency": args.concurrency,
        "models": [str(v) for v in versions],
        "models_on_disk_mb": round(on_disk / 1024 / 1024, 1),
        "model_dir": model_dir,
        "bare_django": {"rss_mb": med(bare_runs, "rss_mb")},
        "idle_worker": {
            "rss_mb": med(worker_runs, "idle", "rss_mb"),
            "pss_mb": med(worker_runs, "idle", "pss_mb"),
        },
        "loaded_worker": {
            "rss_mb": med(worker_runs, "loaded", "rss_mb"),
            "pss_mb": med(worker_runs, "loaded", "pss_mb"),
            "processes": worker_runs[0]["loaded"]["processes"],
        },
        "all_runs": {"bare_django": bare_runs, "worker": worker_runs},
    }
    result["models_add_mb"] = round(
        result["loaded_worker"]["pss_mb"] - result["idle_worker"]["pss_mb"], 1
    )
    result["goals"] = {
        "the response's models loaded (each of its classifications done)": all(
            w["classified"] > 0 for w in worker_runs
        ),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lw, iw = result["loaded_worker"], result["idle_worker"]
        print(
            f"\nmemory, medians of {args.runs}: worker with {len(versions)} models "
            f"{lw['rss_mb']:.0f} MB RSS / {lw['pss_mb']:.0f} MB PSS ({lw['processes']} processes); "
            f"idle worker {iw['rss_mb']:.0f} / {iw['pss_mb']:.0f} MB; bare Django "
            f"{result['bare_django']['rss_mb']:.0f} MB; "
            f"models add {result['models_add_mb']:.0f} MB PSS "
            f"({result['models_on_disk_mb']:.1f} MB on disk)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
