"""Run every benchmark and print one table: our figure beside its same-run baseline. Usage::

    python bench/run_all.py [--count 1000000] [--only NAME ...] [--skip NAME ...]
                            [--responses N] [--texts N] [--quick]

NAME is one of quality, training, statistics, export, results, submit, classify, memory. Each
benchmark runs in its own process (so one's memory does not count against another) with --json;
--count (responses in the bench database, default 1,000,000) goes to the database benchmarks and
to results (the public results page under load, on the same database), --responses
to submit, --texts to classify; --quick runs every benchmark that supports it at its tiny size. The
whole result is also written to var/bench/last-run.json. Exits non-zero when a benchmark fails to
run, never because a target was missed.
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
DEFAULT_COUNT = 1_000_000
Rows = list[tuple[str, str, str, str]]


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
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, seconds, lines[-1] if lines else f"exit status {done.returncode}"
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


def _rows_training(r: dict[str, Any]) -> Rows:
    b, o = r["baseline"], r["ours"]
    return [
        ("training: train s", f"{b['train_s']:.2f}", f"{o['train_s']:.2f}", "< 30 s at 1,500"),
        (
            "training: predict texts/s",
            f"{b['predict_per_s']:,.0f}",
            f"{o['predict_per_s']:,.0f}",
            "1,500 in < 5 s",
        ),
    ]


def _rows_statistics(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    s, a = r["store_sql_ms"], r["api_ms"]
    e, b = r["sql_ms"], r["api_eav_ms"]
    return [
        ("statistics: p50 ms", f"{s['p50']:.1f}", f"{a['p50']:.1f}", ""),
        (
            "statistics: p95 ms",
            f"{s['p95']:.1f}",
            f"{a['p95']:.1f} ({r['ratio_p95']:.1f}x)",
            "<= 100 ms at 1M, <= 3x SQL on the store",
        ),
        (
            "statistics, the store's GROUP BY: p95 ms",
            f"{s['p95']:.1f}",
            f"{r['api_store_ms']['p95']:.1f}",
            "columns in memory switched off",
        ),
        (
            "statistics on the answers: p95 ms",
            f"{e['p95']:.1f}",
            f"{b['p95']:.1f} ({r['ratio_eav_p95']:.1f}x)",
            "before the store",
        ),
    ]


def _rows_export(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    c, o = r["copy"], r["ours"]
    rows = [
        (
            "export: answers/s",
            f"{c['answers_per_s']:,.0f}",
            f"{o['answers_per_s']:,.0f} ({r['ratio']:.2f}x)",
            ">= 0.25x COPY",
        ),
        ("export: peak RSS MB", f"{c['peak_rss_mb']:.0f}", f"{o['peak_rss_mb']:.0f}", "<= 300 MB"),
    ]
    for fmt, job in r.get("jobs", {}).items():
        target = "<= 500 MB" if fmt in {"sav", "dta"} else "measured"
        rows.append(
            (
                f"export {fmt} job: responses/s, s / peak MB",
                f"COPY {r['responses'] / c['seconds']:,.0f}/s",
                f"{job['responses_per_s']:,.0f}/s ({job.get('ratio', 0):.2f}x), "
                f"{job['seconds']:,.0f} s / {job['peak_rss_mb']:.0f} MB",
                target if job.get("status") == "done" else f"({job.get('status')})",
            )
        )
    return rows


def _rows_submit(r: dict[str, Any]) -> Rows:
    o, b = r["ours"], r["baseline"]
    return [
        (
            "submit: page posts/s",
            f"{b['inserts_per_s']:,.0f} inserts/s",
            f"{o['page_posts_per_s']:,.0f} ({r['ratio']:.2f}x)",
            ">= 0.4x, 0 errors, all rows",
        ),
        ("submit: complete responses/s", "", f"{o['responses_per_s']:,.1f}", ""),
        ("submit: errors / rows missing", "", f"{r['errors']} / {len(r['missing_rows'])}", "0 / 0"),
    ]


def _rows_classify(r: dict[str, Any]) -> Rows:
    o, b = r["ours"], r["baseline"]
    return [
        (
            "classify: classifications/s",
            f"{b['per_s']:,.0f}",
            f"{o['per_s']:,.0f} ({r['ratio']:.2f}x)",
            ">= 0.5x one process",
        ),
    ]


def _rows_memory(r: dict[str, Any]) -> Rows:
    i, w = r["idle_worker"], r["loaded_worker"]
    rows: Rows = [
        ("memory: worker RSS MB", f"{i['rss_mb']:,.0f} idle", f"{w['rss_mb']:,.0f} loaded", ""),
        ("memory: worker PSS MB", f"{i['pss_mb']:,.0f} idle", f"{w['pss_mb']:,.0f} loaded", ""),
        ("memory: bare Django RSS MB", f"{r['bare_django']['rss_mb']:,.0f}", "", ""),
    ]
    exports = r.get("exports", {})
    copy = exports.get("copy")
    for fmt, e in exports.items():
        if fmt == "copy" or not copy:
            continue
        rows.append(
            (
                f"memory: export {fmt}, {e['responses']:,} responses: peak RSS MB, responses/s",
                f"COPY {copy['peak_rss_mb']:,.0f} MB, {copy['responses_per_s']:,.0f}/s",
                f"{e['peak_rss_mb']:,.0f} MB, {e['responses_per_s']:,.0f}/s "
                f"({e['responses_per_s'] / copy['responses_per_s']:.2f}x)",
                "<= 500 MB at 1M" if fmt in {"sav", "dta"} else "",
            )
        )
    return rows


def _rows_results(r: dict[str, Any]) -> Rows:
    o, b = r["ours"], r["baseline"]
    return [
        (
            "results page: requests/s",
            f"{b['requests_per_s']:,.0f}",
            f"{o['requests_per_s']:,.0f} ({r['ratio_throughput']:.2f}x)",
            f"{r['users']} users, cached",
        ),
        (
            "results page: p95 ms",
            f"{b['p95_ms']:,.1f}",
            f"{o['p95_ms']:,.1f} ({r['ratio_p95']:.1f}x)",
            "<= 2x baseline",
        ),
        ("results page: errors", f"{b['errors']}", f"{o['errors']}", "0"),
    ]


def _results_arguments(args: argparse.Namespace, quick: bool) -> list[str]:
    """--quick alone (its own tiny database size), else --count."""
    return ["--quick"] if quick and args.quick else ["--count", str(args.count)]


def _sized(flag: str = "", attribute: str = "") -> Any:
    """Arguments for a benchmark: `flag` from the run_all option `attribute`, and --quick."""

    def build(args: argparse.Namespace, quick: bool) -> list[str]:
        value = getattr(args, attribute) if attribute else None
        return (["--quick"] if quick and args.quick else []) + ([flag, str(value)] if value else [])

    return build


# name: (script, how its arguments are built, its rows in the table)
BENCHES = {
    "quality": ("quality.py", _sized(), _rows_quality),
    "training": ("training.py", _sized(), _rows_training),
    "statistics": ("api_statistics.py", _sized("--count", "count"), _rows_statistics),
    "export": ("export.py", _sized("--count", "count"), _rows_export),
    "results": ("results_page.py", _results_arguments, _rows_results),
    "submit": ("submit.py", _sized("--responses", "responses"), _rows_submit),
    "classify": ("classify.py", _sized("--texts", "texts"), _rows_classify),
    "memory": ("memory.py", _sized(), _rows_memory),
}
SUPPORTS_QUICK = {"training", "results", "submit", "classify", "memory"}


def _machine() -> str:
    sys.path.insert(0, str(HERE))
    import _services

    m = _services.machine()
    cores = f"{m['cores']} cores, {m['ram_gib']} GiB RAM"
    return f"{m['cpu']}, {cores}, Python {m['python']}; {m['date']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=DEFAULT_COUNT, help="responses in the bench database"
    )
    parser.add_argument("--responses", type=int, default=None, help="submit: responses per run")
    parser.add_argument("--texts", type=int, default=None, help="classify: free-text answers")
    parser.add_argument("--only", nargs="*", default=[], choices=list(BENCHES))
    parser.add_argument("--skip", nargs="*", default=[], choices=list(BENCHES))
    parser.add_argument("--quick", action="store_true", help="tiny sizes where supported")
    parser.add_argument(
        "--save", type=Path, default=HERE.parent / "var" / "bench" / "last-run.json"
    )
    args = parser.parse_args(argv)
    table: Rows = []
    goals: list[tuple[str, bool]] = []
    failed = []
    sizes = []
    results: dict[str, Any] = {"machine": _machine(), "count": args.count}
    print(f"machine: {results['machine']}", flush=True)
    for name, (script, arguments, rows) in BENCHES.items():
        if name in args.skip or (args.only and name not in args.only):
            continue
        extra = arguments(args, name in SUPPORTS_QUICK)
        print(f"running {script} {' '.join(extra)} ...", flush=True)
        result, seconds, error = _run(script, extra)
        if result is None:
            failed.append(name)
            table.append((f"{name}: FAILED", "", error[:60], ""))
            continue
        results[name] = result
        table += rows(result)
        goals += [(f"{name}: {goal}", met) for goal, met in result.get("goals", {}).items()]
        if "responses" in result:
            sizes.append(f"{name}: {result['responses']:,} responses")
        if "classifications" in result:
            sizes.append(f"classify: {result['classifications']:,} classifications")
        print(f"  done in {seconds:.0f} s", flush=True)
    print()
    print(f"machine: {results['machine']}")
    if sizes:
        print("; ".join(sizes))
    header = f"{'measure':32s}{'baseline':>18s}{'ours':>22s}   target"
    print(header)
    print("-" * (len(header) + 24))
    for measure, base, ours, target in table:
        print(f"{measure:32s}{base:>18s}{ours:>22s}   {target}")
    print()
    for goal, met in goals:
        print(f"[{'x' if met else ' '}] {goal}")
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps(results, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
