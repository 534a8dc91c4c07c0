"""Export benchmark: the streamed CSV export and the export jobs against PostgreSQL's COPY.

Times surveys.exports.streaming.export_stream_csv (every chunk consumed, bytes counted) and
``COPY (SELECT ... FROM surveys_answer ...) TO STDOUT WITH CSV`` of the answers of the same
complete responses, and the peak resident memory of this process during each (VmHWM, reset
through /proc/self/clear_refs before each run). Then runs a background export job (as a worker
would, through export_request with eager tasks) for each of --formats and reports its time,
responses/s beside COPY's, file size and peak memory. Usage::

    python bench/export.py [--count 200000] [--formats csv xlsx sav dta] [--json]

``--formats`` with no format skips the background jobs (the CSV and COPY timings only).

Generates responses into the PostgreSQL database exposure_bench when it holds fewer than --count.
Targets: the CSV export at >= 0.25x COPY's answers/s, its peak memory <= 300 MB, and the .sav
and .dta jobs' peak memory <= 500 MB (they are written chunk by chunk: memory stays flat
whatever the number of responses). XLSX is measured, not judged.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import json
import os
import tempfile
import time
from typing import Any

from _common import COPY_SQL, DEFAULT_COUNT, bench_setup, bench_user

TARGET_RATIO = 0.25
TARGET_PEAK_MB = 300.0
TARGET_STATISTICAL_PEAK_MB = 500.0
JOB_FORMATS = ("csv", "xlsx", "sav", "dta")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--formats", nargs="*", default=list(JOB_FORMATS), choices=list(JOB_FORMATS)
    )
    args = parser.parse_args(argv)

    scratch = tempfile.TemporaryDirectory(prefix="exposure-bench-exports-")
    os.environ["EXPOSURE_EXPORT_DIR"] = scratch.name  # job files go here, removed at the end
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # the job runs in this process
    survey = bench_setup(args.count, quiet=args.json)
    from django.db import connection

    from surveys.exports.jobs import export_request
    from surveys.exports.streaming import export_stream_csv
    from surveys.models import Answer, Response

    user = bench_user(survey)
    complete = Response.objects.filter(survey=survey, status="complete")
    responses = complete.count()
    answers = Answer.objects.filter(response__in=complete).count()
    resettable = _reset_peak()

    # Our export, every chunk consumed.
    rss_before = _status_kb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    stream = export_stream_csv(user=user, survey=survey, labels=False)
    ours_bytes = sum(len(chunk) for chunk in stream.chunks)
    ours_seconds = time.perf_counter() - started
    ours_peak = _status_kb("VmHWM")

    # PostgreSQL's COPY of the same answers, read through psycopg.
    _reset_peak()
    started = time.perf_counter()
    copy_bytes = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(COPY_SQL.format(survey=survey.pk)) as copy,
    ):
        for block in copy:
            copy_bytes += len(block)
    copy_seconds = time.perf_counter() - started
    copy_peak = _status_kb("VmHWM")

    # Background jobs: the file written, zipped with its codebook and renamed into place.
    jobs: dict[str, dict[str, float | str]] = {}
    for fmt in args.formats:
        _reset_peak()
        started = time.perf_counter()
        job = export_request(user=user, survey=survey, format=fmt, labels=False)
        job.refresh_from_db()
        seconds = time.perf_counter() - started
        jobs[fmt] = {
            "seconds": seconds,
            "status": job.status,
            "mb": (job.size or 0) / 1e6,
            "responses_per_s": responses / seconds,
            "answers_per_s": answers / seconds,
            "ratio": (answers / seconds) / (answers / copy_seconds),
            "peak_rss_mb": _status_kb("VmHWM") / 1024,
            "error": job.error[:200],
        }
    scratch.cleanup()

    ours_rate = answers / ours_seconds
    copy_rate = answers / copy_seconds
    ratio = ours_rate / copy_rate
    result: dict[str, Any] = {
        "responses": responses,
        "answers": answers,
        "rss_before_mb": rss_before / 1024,
        "peak_reset": resettable,
        "ours": {
            "seconds": ours_seconds,
            "bytes": ours_bytes,
            "answers_per_s": ours_rate,
            "responses_per_s": responses / ours_seconds,
            "peak_rss_mb": ours_peak / 1024,
        },
        "copy": {
            "seconds": copy_seconds,
            "bytes": copy_bytes,
            "answers_per_s": copy_rate,
            "peak_rss_mb": copy_peak / 1024,
        },
        "ratio": ratio,
        "jobs": jobs,
    }
    result["goals"] = {
        f"export >= {TARGET_RATIO}x COPY answers/s": ratio >= TARGET_RATIO,
        f"peak memory <= {TARGET_PEAK_MB:.0f} MB": ours_peak / 1024 <= TARGET_PEAK_MB,
    }
    for fmt in ("sav", "dta"):
        if fmt in jobs:
            peak = float(jobs[fmt]["peak_rss_mb"])
            result["goals"][f"{fmt} job peak memory <= {TARGET_STATISTICAL_PEAK_MB:.0f} MB"] = (
                jobs[fmt]["status"] == "done" and peak <= TARGET_STATISTICAL_PEAK_MB
            )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{responses:,} complete responses, {answers:,} answers; process RSS before: "
        f"{rss_before / 1024:.0f} MB"
        + ("" if resettable else " (peak could not be reset: peaks include earlier work)")
        + "\n"
    )
    header = f"{'':24s}{'COPY':>14s}{'export CSV':>14s}{'ratio':>10s}"
    print(header)
    print("-" * len(header))
    o, c = result["ours"], result["copy"]
    print(f"{'wall time (s)':24s}{c['seconds']:14.2f}{o['seconds']:14.2f}")
    print(f"{'MB written':24s}{c['bytes'] / 1e6:14.1f}{o['bytes'] / 1e6:14.1f}")
    print(f"{'answers/s':24s}{c['answers_per_s']:14,.0f}{o['answers_per_s']:14,.0f}{ratio:9.2f}x")
    print(f"{'responses/s':24s}{responses / c['seconds']:14,.0f}{o['responses_per_s']:14,.0f}")
    print(f"{'peak RSS (MB)':24s}{c['peak_rss_mb']:14.0f}{o['peak_rss_mb']:14.0f}")
    print()
    if jobs:
        print(
            f"{'background job':24s}{'seconds':>10s}{'MB':>10s}{'responses/s':>14s}"
            f"{'x COPY':>8s}{'peak RSS MB':>14s}"
        )
        print(
            f"{'COPY (same answers)':24s}{copy_seconds:10.1f}{copy_bytes / 1e6:10.1f}"
            f"{responses / copy_seconds:14,.0f}{1:8.2f}{copy_peak / 1024:14.0f}"
        )
        for fmt, job_result in jobs.items():
            print(
                f"{fmt + ' (' + str(job_result['status']) + ')':24s}{job_result['seconds']:10.1f}"
                f"{job_result['mb']:10.1f}{job_result['responses_per_s']:14,.0f}"
                f"{job_result['ratio']:8.2f}{job_result['peak_rss_mb']:14.0f}"
            )
        print()
    for goal, met in result["goals"].items():
        print(f"[{'x' if met else ' '}] {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
