"""Quality benchmark: the classifier pipeline against a plain word TF-IDF + logistic baseline.

Both are cross-validated on the same grouped folds and routed with the same threshold rule
(lowest confidence whose cross-validated precision reaches the target). Usage::

    python bench/quality.py [--csv PATH] [--text-column text] [--label-column label] [--json]

Without ``--csv`` it reads ../shared/data/exposure-tasks-dev.csv next to the repository and, if
that file is absent, falls back to the seed corpus classifier/data/displacement-risk/*.csv.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402

from classifier.pipeline import (  # noqa: E402
    CsvError,
    evaluate,
    pick_threshold,
    read_labelled_csv,
    train,
)
from classifier.pipeline.folds import make_folds  # noqa: E402
from classifier.pipeline.thresholds import NO_THRESHOLD, min_auto_coded  # noqa: E402

SHARED_CSV = REPO_ROOT.parent / "shared" / "data" / "exposure-tasks-dev.csv"
SEED_GLOB = "classifier/data/displacement-risk/*.csv"
TARGET = 0.90
SEED = 0
FOLDS = 5


def load_data(
    csv_path: str | None, text_column: str, label_column: str
) -> tuple[list[str], list[str], str, list[str]]:
    """Return (texts, labels, source description, notes) for the benchmark."""
    notes: list[str] = []
    if csv_path:
        paths = [Path(csv_path)]
        source = csv_path
    elif SHARED_CSV.exists():
        paths = [SHARED_CSV]
        source = str(SHARED_CSV)
    else:
        notes.append(
            f"NOTE: {SHARED_CSV} is not present on this machine; falling back to the seed "
            f"corpus {SEED_GLOB} (figures are NOT comparable to the real task statements)."
        )
        paths = sorted(REPO_ROOT.glob(SEED_GLOB))
        source = f"seed corpus ({len(paths)} file(s): {', '.join(p.name for p in paths)})"
        if not paths:
            raise SystemExit(
                f"no data: {SHARED_CSV} is absent and no seed corpus files match "
                f"{REPO_ROOT / SEED_GLOB}; pass --csv PATH"
            )
    texts: list[str] = []
    labels: list[str] = []
    for path in paths:
        try:
            t, y = read_labelled_csv(
                path, text_column=text_column, label_column=label_column, check_label_counts=False
            )
        except CsvError as exc:
            raise SystemExit(f"{path}: {exc}") from exc
        texts.extend(t)
        labels.extend(y)
    counts = Counter(labels)
    rare = sorted(k for k, v in counts.items() if v < 2)
    if rare:
        notes.append(f"dropped {len(rare)} label(s) with a single example: {rare}")
        keep = [i for i, y in enumerate(labels) if counts[y] >= 2]
        texts = [texts[i] for i in keep]
        labels = [labels[i] for i in keep]
    return texts, labels, source, notes


def baseline_model(seed: int) -> Pipeline:
    """Return the baseline: word 1-2 gram TF-IDF + logistic regression."""
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2)),
        LogisticRegression(max_iter=1000, random_state=seed),
    )


def run_baseline(texts: list[str], labels: list[str], folds: int) -> dict[str, Any]:
    """Cross-validate the baseline on the pipeline's grouped folds with the same threshold rule."""
    started = time.perf_counter()
    y = np.asarray(labels, dtype=object)
    pred = np.empty(len(texts), dtype=object)
    conf = np.zeros(len(texts))
    for tr, te in make_folds(texts, labels, folds, SEED):
        model = baseline_model(SEED).fit([texts[i] for i in tr], y[tr])
        proba = model.predict_proba([texts[i] for i in te])
        pred[te] = model.classes_[proba.argmax(axis=1)]
        conf[te] = proba.max(axis=1)
    correct = pred == y
    threshold = pick_threshold(conf, correct, TARGET, min_auto_coded(len(texts)))
    auto = conf >= threshold
    return {
        "macro_f1": float(f1_score(y.astype(str), pred.astype(str), average="macro")),
        "accuracy": float(correct.mean()),
        "threshold": threshold,
        "coverage": float(auto.mean()),
        "realised_precision": float(correct[auto].mean()) if auto.any() else None,
        "cv_seconds": time.perf_counter() - started,
    }


def run_ours(texts: list[str], labels: list[str]) -> dict[str, Any]:
    """Cross-validate the pipeline via :func:`classifier.pipeline.evaluate`."""
    started = time.perf_counter()
    ev = evaluate(texts, labels, target_precision=TARGET, seed=SEED, folds=FOLDS)
    return {
        "macro_f1": ev.macro_f1,
        "accuracy": ev.accuracy,
        "threshold": ev.threshold,
        "coverage": ev.coverage,
        "realised_precision": ev.realised_precision,
        "cv_seconds": time.perf_counter() - started,
        "folds": ev.folds,
    }


def throughput(predict: Callable[[Sequence[str]], Any], texts: list[str]) -> float:
    """Return texts per second for batch prediction over ``texts`` (median of 3 runs)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        predict(texts)
        times.append(time.perf_counter() - started)
    return len(texts) / statistics.median(times)


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:6.1f}%" if pct else f"{value:7.4f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="labelled CSV (default: shared dev set, else seed corpus)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    texts, labels, source, notes = load_data(args.csv, args.text_column, args.label_column)
    if not args.json:
        for note in notes:
            print(note)
        print(f"data: {source}: {len(texts)} texts, labels {dict(sorted(Counter(labels).items()))}")

    ours = run_ours(texts, labels)
    base = run_baseline(texts, labels, ours["folds"])

    started = time.perf_counter()
    model = train(texts, labels, target_precision=TARGET, seed=SEED, folds=FOLDS)
    ours["train_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    fitted_baseline = baseline_model(SEED).fit(texts, labels)
    base["train_seconds"] = time.perf_counter() - started
    ours["predict_texts_per_s"] = throughput(model.predict, texts)
    base["predict_texts_per_s"] = throughput(fitted_baseline.predict_proba, texts)

    diff = {
        "macro_f1": ours["macro_f1"] - base["macro_f1"],
        "coverage_points": 100 * (ours["coverage"] - base["coverage"]),
    }
    goals = {
        "macro_f1 >= baseline + 0.05": diff["macro_f1"] >= 0.05,
        "coverage >= baseline + 5 points": diff["coverage_points"] >= 5.0,
        "realised precision >= 0.88": (ours["realised_precision"] or 0.0) >= 0.88,
    }
    result = {
        "data": source,
        "notes": notes,
        "n": len(texts),
        "labels": dict(sorted(Counter(labels).items())),
        "folds": ours["folds"],
        "target_precision": TARGET,
        "baseline": base,
        "ours": ours,
        "difference": diff,
        "goals": goals,
    }
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(f"grouped {ours['folds']}-fold CV, target precision {TARGET:.2f}\n")
    header = f"{'':22s}{'baseline':>12s}{'ours':>12s}{'difference':>14s}"
    print(header)
    print("-" * len(header))
    rows = [
        ("macro-F1", _fmt(base["macro_f1"]), _fmt(ours["macro_f1"]), f"{diff['macro_f1']:+.4f}"),
        (
            "accuracy",
            _fmt(base["accuracy"]),
            _fmt(ours["accuracy"]),
            f"{ours['accuracy'] - base['accuracy']:+.4f}",
        ),
        (
            "coverage at target",
            _fmt(base["coverage"], True),
            _fmt(ours["coverage"], True),
            f"{diff['coverage_points']:+.1f} pts",
        ),
        (
            "realised precision",
            _fmt(base["realised_precision"]),
            _fmt(ours["realised_precision"]),
            "",
        ),
        ("threshold", _threshold(base["threshold"]), _threshold(ours["threshold"]), ""),
        ("CV wall time (s)", f"{base['cv_seconds']:7.1f}", f"{ours['cv_seconds']:7.1f}", ""),
        (
            "train wall time (s)",
            f"{base['train_seconds']:7.1f}",
            f"{ours['train_seconds']:7.1f}",
            "",
        ),
        (
            "predict texts/s",
            f"{base['predict_texts_per_s']:9.0f}",
            f"{ours['predict_texts_per_s']:9.0f}",
            "",
        ),
    ]
    for name, b, o, d in rows:
        print(f"{name:22s}{b:>12s}{o:>12s}{d:>14s}")
    print()
    for goal, met in goals.items():
        print(f"[{'x' if met else ' '}] {goal}")
    return 0


def _threshold(value: float) -> str:
    return "none" if value >= NO_THRESHOLD else f"{value:7.4f}"


if __name__ == "__main__":
    raise SystemExit(main())
