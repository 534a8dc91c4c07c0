"""Memory: a Celery worker's resident memory with every active model loaded, beside idle baselines.

    python bench/memory.py [--runs 3] [--concurrency 1] [--quick] [--json]

Ours: a real `celery worker` (prefork, production settings, the classify bench's database and a
private redis-server) is made to load every active model by classifying one free-text answer under
each codebook in a single classify_batch task; then the resident memory of the worker and its
pool children is read from /proc (RSS, and PSS, which splits the pages the children share with
the parent after fork). Baselines, measured in the same run: the same worker idle (started, no
task run yet) and a bare Python process with Django set up. Medians of --runs fresh workers.

Exports: for CSV, .sav and .dta, a fresh Python process with Django set up runs one export job
of the bench survey's complete responses (as a worker would, eager) and reports its peak
resident memory (VmHWM: the process did nothing else) and responses/s; beside them, in the same
run, a fresh process reading the same answers through PostgreSQL's COPY, and the bare Django
process above. ``--export-responses`` (default 2,000; 200 with --quick) complete responses are
generated first if the database holds fewer.
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
from _common import COPY_SQL
from classify import DATABASE, _answers

SETTLE_SECONDS = 1.0  # let the allocator settle before reading /proc
EXPORT_FORMATS = ("csv", "sav", "dta")
SURVEY = "genai-video-creative-work"


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _export_child(fmt: str) -> None:
    """In a fresh process: one export job (or COPY), then its figures as JSON on stdout."""
    import tempfile

    import django

    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # the job runs in this process
    scratch = tempfile.TemporaryDirectory(prefix="exposure-bench-memory-")
    os.environ["EXPOSURE_EXPORT_DIR"] = scratch.name
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from surveys.exports.jobs import export_request
    from surveys.models import Response, Survey, SurveyRole

    survey = Survey.objects.get(slug=SURVEY)
    responses = Response.objects.filter(survey=survey, status="complete", is_test=False).count()
    before = _peak_mb()
    started = time.perf_counter()
    status, size = "done", 0
    if fmt == "copy":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(COPY_SQL.format(survey=survey.pk)) as copy,
        ):
            for block in copy:
                size += len(block)
    else:
        user, _ = get_user_model().objects.get_or_create(username="bench-researcher")
        SurveyRole.objects.get_or_create(survey=survey, user=user, defaults={"role": "owner"})
        job = export_request(user=user, survey=survey, format=fmt, labels=False)
        job.refresh_from_db()
        status, size = job.status, job.size or 0
    seconds = time.perf_counter() - started
    scratch.cleanup()
    figures = {
        "responses": responses,
        "seconds": seconds,
        "responses_per_s": responses / seconds if seconds else 0.0,
        "status": status,
        "mb": size / 1e6,
        "rss_before_mb": before,
        "peak_rss_mb": _peak_mb(),
    }
    sys.stdout.write(json.dumps(figures) + "\n")


def _exports(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each export format, and COPY, in a fresh process: peak memory and responses/s."""
    results = {}
    for fmt in ("copy", *EXPORT_FORMATS):
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--export-child", fmt],
            cwd=services.REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the {fmt} export process failed:\n{done.stderr[-3000:]}")
        results[fmt] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def _export_responses(count: int, say: Any) -> None:
    """Generate complete responses of the bench survey until there are `count`."""
    from surveys.management.commands.generate_responses import generate
    from surveys.models import Response, Survey

    survey = Survey.objects.get(slug=SURVEY)
    have = Response.objects.filter(survey=survey, status="complete", is_test=False).count()
    if have < count:
        say(f"generating {count - have:,} responses for the export figures ...")
        for _ in generate(survey=survey, count=count - have, seed=have + 11):
            pass


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
    parser.add_argument("--export-responses", type=int, default=None)
    parser.add_argument("--export-child", choices=["copy", *EXPORT_FORMATS], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.export_child:
        _export_child(args.export_child)
        return 0
    if args.quick:
        args.runs = 1
    if args.export_responses is None:
        args.export_responses = 200 if args.quick else 2000
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
        _export_responses(args.export_responses, say)
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
        say("exports, each in a fresh process ...")
        exports = _exports(env)

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
        "exports": exports,
    }
    result["models_add_mb"] = round(
        result["loaded_worker"]["pss_mb"] - result["idle_worker"]["pss_mb"], 1
    )
    result["goals"] = {
        "the response's models loaded (each of its classifications done)": all(
            w["classified"] > 0 for w in worker_runs
        ),
        "every export done": all(e["status"] == "done" for e in exports.values()),
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
        copy = exports["copy"]
        print(
            f"\nexports of {copy['responses']:,} responses, each in a fresh process (bare Django "
            f"{result['bare_django']['rss_mb']:.0f} MB):"
        )
        for fmt, figures in exports.items():
            print(
                f"  {fmt:5s} {figures['responses_per_s']:10,.0f} responses/s "
                f"({figures['responses_per_s'] / copy['responses_per_s']:.2f}x COPY), "
                f"peak RSS {figures['peak_rss_mb']:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
