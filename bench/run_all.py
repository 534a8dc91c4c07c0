"""Run every benchmark (quality, statistics API, export) and print one table. Usage::

    python bench/run_all.py [--count 200000] [--skip quality|statistics|export ...]

Each benchmark runs in its own process (so one's memory does not count against another) with
--json; --count is passed to the database benchmarks. Exits non-zero when a benchmark fails to run,
never because a target was missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _run(script: str, extra: list[str]) -> tuple[dict[str, Any] | None, float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / script), "--json", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return None, seconds, (done.stderr or done.stdout).strip().splitlines()[-1:][0:1][0]
    return json.loads(done.stdout), seconds, ""


def _rows_quality(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    b, o = r["baseline"], r["ours"]
    return [
        ("quality: macro-F1", f"{b['macro_f1']:.3f}", f"{o['macro_f1']:.3f}", "+0.05 on baseline"),
        (
            "quality: coverage at target",
            f"{100 * b['coverage']:.1f}%",
            f"{100 * o['coverage']:.1f}%",
            "+5 points",
        ),
    ]


def _rows_statistics(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    s, a = r["sql_ms"], r["api_ms"]
    return [
        ("statistics: p50 ms", f"{s['p50']:.1f}", f"{a['p50']:.1f}", ""),
        (
            "statistics: p95 ms",
            f"{s['p95']:.1f}",
            f"{a['p95']:.1f} ({r['ratio_p95']:.1f}x)",
            "<= 100 ms at 1M, <= 3x SQL",
        ),
    ]


def _rows_export(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    c, o = r["copy"], r["ours"]
    return [
        (
            "export: answers/s",
            f"{c['answers_per_s']:,.0f}",
            f"{o['answers_per_s']:,.0f} ({r['ratio']:.2f}x)",
            ">= 0.25x COPY",
        ),
        ("export: peak RSS MB", f"{c['peak_rss_mb']:.0f}", f"{o['peak_rss_mb']:.0f}", "<= 300 MB"),
    ]


BENCHES = {
    "quality": ("quality.py", False, _rows_quality),
    "statistics": ("api_statistics.py", True, _rows_statistics),
    "export": ("export.py", True, _rows_export),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="responses in the bench database")
    parser.add_argument("--skip", nargs="*", default=[], choices=list(BENCHES))
    args = parser.parse_args(argv)
    table: list[tuple[str, str, str, str]] = []
    goals: list[tuple[str, bool]] = []
    failed = []
    sizes = []
    for name, (script, uses_db, rows) in BENCHES.items():
        if name in args.skip:
            continue
        extra = ["--count", str(args.count)] if uses_db and args.count else []
        print(f"running {script} ...", flush=True)
        result, seconds, error = _run(script, extra)
        if result is None:
            failed.append(name)
            table.append((f"{name}: FAILED", "", error[:60], ""))
            continue
        table += rows(result)
        goals += [(f"{name}: {goal}", met) for goal, met in result.get("goals", {}).items()]
        if "responses" in result:
            sizes.append(f"{name}: {result['responses']:,} responses")
        print(f"  done in {seconds:.0f} s", flush=True)
    print()
    if sizes:
        print("; ".join(sizes))
    header = f"{'measure':30s}{'baseline':>16s}{'ours':>22s}   target"
    print(header)
    print("-" * (len(header) + 24))
    for measure, base, ours, target in table:
        print(f"{measure:30s}{base:>16s}{ours:>22s}   {target}")
    print()
    for goal, met in goals:
        print(f"[{'x' if met else ' '}] {goal}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
