"""Classify: free-text answers classified end to end by two Celery workers, against one process.

    python bench/classify.py [--texts 100000] [--runs 3] [--batch N] [--quick] [--json]

Ours: `--texts` submitted free-text answers of the bench database (`exposure_bench_classify`, or
BENCH_CLASSIFY_DATABASE; generated responses with seed-corpus texts, created once) lose their
classifications; then the clock starts, `classifier.runs.services.classifications_create` writes one
pending row per answer and active codebook and queues them the product's way (classify_batch
tasks of EXPOSURE_CLASSIFY_BATCH ids, published on commit), and the clock stops when the database
holds no pending or running row. Two `celery worker` processes (prefork, concurrency 1 each,
distinct node names; one per core of the reference machine) on a private redis-server do the work
with production settings. Baseline: the same active models predicting the same texts in this one
process, in chunks of the same size, with no database or broker. Target: at least 0.5x the
baseline's classifications per second, every row `done`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _services as services

DATABASE = "exposure_bench_classify"
TARGET_RATIO = 0.5
WORKERS = 2


def _answers(count: int, say: Any) -> list[int]:
    """Ids of `count` submitted classify answers, generating responses until there are enough."""
    from surveys.management.commands.generate_responses import generate
    from surveys.models import Answer, Response, Survey

    survey = Survey.objects.get(slug="genai-video-creative-work")

    def present() -> Any:
        return Answer.objects.filter(
            response__survey=survey,
            response__status=Response.Status.COMPLETE,
            question__classify=True,
        ).exclude(text="")

    have = present().count()
    while have < count:
        responses = Response.objects.filter(survey=survey).count()
        # About one free-text answer per generated response; a little extra saves a round.
        more = max(100, int((count - have) * 1.1))
        say(f"generating {more:,} responses for free-text answers ({have:,}/{count:,}) ...")
        for _ in generate(survey=survey, count=more, seed=responses + 7):
            pass
        have = present().count()
    return list(present().order_by("pk").values_list("pk", flat=True)[:count])


def _baseline(answer_ids: list[int], batch: int) -> dict[str, Any]:
    """The active models predicting the same texts in this process, in chunks of `batch`."""
    from classifier.models import codebooks_coding
    from classifier.training import selectors
    from surveys.models import Answer

    answers = list(
        Answer.objects.filter(pk__in=answer_ids)
        .order_by("pk")
        .values_list("text", "question__code")
    )
    books = list(selectors.codebooks_with_active_version())
    # Each codebook predicts the texts of the questions it codes, as the workers do.
    work = []
    for book in books:
        texts = [text for text, code in answers if book in codebooks_coding(code, books)]
        work.append((selectors.codebook_model(codebook=book)[0], texts))
    for model, texts in work:  # first calls pay one-off costs (jieba's dictionary), as workers did
        model.predict(texts[:20])
    started = time.perf_counter()
    predicted = 0
    for model, texts in work:
        for start in range(0, len(texts), batch):
            predicted += len(list(model.predict(texts[start : start + batch])))
    seconds = time.perf_counter() - started
    return {"classifications": predicted, "seconds": seconds, "per_s": predicted / seconds}


def _status_counts() -> dict[str, int]:
    from django.db.models import Count

    from classifier.models import Classification

    rows = Classification.objects.values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def _reset() -> None:
    """Forget every classification of the bench database (its own, so nothing else is lost)."""
    from django.db import connection

    # TRUNCATE, not a queryset delete: Django would load every row to cascade to human labels
    # and assignments, and a delete leaves dead tuples the next run would wade through.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE classifier_classification CASCADE")


def _ours(answer_ids: list[int], timeout: float) -> dict[str, Any]:
    """Create and queue the rows the product's way; wait until none is pending or running."""
    from classifier.runs import services as classifier_services

    _reset()
    started = time.perf_counter()
    ids = classifier_services.classifications_create(answer_ids=answer_ids)
    queued = time.perf_counter() - started
    deadline = started + timeout
    while True:
        counts = _status_counts()
        if not counts.get("pending") and not counts.get("running"):
            break
        if time.perf_counter() > deadline:
            raise SystemExit(f"classification did not finish within {timeout:.0f} s: {counts}")
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    return {
        "classifications": len(ids),
        "seconds": seconds,
        "enqueue_seconds": queued,
        "per_s": len(ids) / seconds,
        "done": counts.get("done", 0),
        "failed": counts.get("failed", 0),
    }


def _warm_up() -> None:
    """Let each worker load every active model before the clock runs (as a long-lived one has)."""
    from surveys.models import Answer

    ids = list(
        Answer.objects.filter(question__classify=True)
        .exclude(text="")
        .values_list("pk", flat=True)[:10]
    )
    _ours(ids, timeout=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=None, help="answers (default 100,000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=None, help="EXPOSURE_CLASSIFY_BATCH override")
    parser.add_argument("--concurrency", type=int, default=1, help="prefork children per worker")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.quick:  # tiny sizes, unless given
        args.texts, args.runs = args.texts or 100, 1
    args.texts = args.texts or 100_000
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    database = os.environ.get("BENCH_CLASSIFY_DATABASE", DATABASE)
    log_dir = services.REPO_ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    extra = {"EXPOSURE_CLASSIFY_BATCH": str(args.batch)} if args.batch else {}
    with services.private_redis() as redis_url:
        env = services.live_env(database=database, redis_url=redis_url, **extra)
        services.ensure_database(services.database_url(database))
        services.django_setup(env)
        from django.conf import settings
        from django.db import connection

        say(f"preparing {database} ...")
        services.prepare_database(database=database)
        answer_ids = _answers(args.texts, say)
        batch = settings.EXPOSURE_CLASSIFY_BATCH
        ours_runs: list[dict[str, Any]] = []
        base_runs: list[dict[str, Any]] = []
        with (
            services.celery_worker(
                env=env, name="bench-classify-1@%h", concurrency=args.concurrency,
                log=log_dir / "classify-worker-1.log",
            ),
            services.celery_worker(
                env=env, name="bench-classify-2@%h", concurrency=args.concurrency,
                log=log_dir / "classify-worker-2.log",
            ),
        ):  # fmt: skip
            _warm_up()
            timeout = max(300.0, args.texts / 50)
            for run in range(args.runs):
                ours = _ours(answer_ids, timeout)
                base = _baseline(answer_ids, batch)
                ours_runs.append(ours)
                base_runs.append(base)
                say(
                    f"  run {run + 1}: workers {ours['per_s']:,.0f} classifications/s "
                    f"(queued in {ours['enqueue_seconds']:.1f} s, {ours['failed']} failed); "
                    f"one process {base['per_s']:,.0f}/s"
                )
        connection.close()

    ours_per_s = statistics.median(r["per_s"] for r in ours_runs)
    base_per_s = statistics.median(r["per_s"] for r in base_runs)
    ratio = ours_per_s / base_per_s
    complete = all(r["done"] == r["classifications"] and not r["failed"] for r in ours_runs)
    result = {
        "benchmark": "classify",
        "machine": services.machine(),
        "texts": len(answer_ids),
        "classifications": ours_runs[0]["classifications"],
        "batch": batch,
        "workers": WORKERS,
        "concurrency": args.concurrency,
        "runs": args.runs,
        "ours": {
            "per_s": ours_per_s,
            "enqueue_seconds": statistics.median(r["enqueue_seconds"] for r in ours_runs),
            "seconds": statistics.median(r["seconds"] for r in ours_runs),
        },
        "baseline": {
            "per_s": base_per_s,
            "seconds": statistics.median(r["seconds"] for r in base_runs),
        },
        "ratio": ratio,
        "all_runs": {"ours": ours_runs, "baseline": base_runs},
        "goals": {
            f"end to end >= {TARGET_RATIO}x one-process predict": ratio >= TARGET_RATIO,
            "every classification done": complete,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"\nclassify, {len(answer_ids):,} texts x codebooks = {result['classifications']:,} "
            f"classifications, batch {batch}, medians of {args.runs}: workers "
            f"{ours_per_s:,.0f}/s, one process {base_per_s:,.0f}/s, ratio {ratio:.2f}x "
            f"(target >= {TARGET_RATIO}x); all done: {complete}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
