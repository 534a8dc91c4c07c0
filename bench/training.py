"""Training: fitting and batch prediction time of the classifier pipeline, against a plain baseline.

    python bench/training.py [--texts 1500] [--runs 3] [--quick] [--json]

Ours: `classifier.pipeline.train` (grouped cross-validation, calibration and threshold choice,
then the final fit) on `--texts` answers of the seed corpus (classifier/data/displacement-risk,
cycled when more are asked for than it holds), then `predict` over the same texts. Baseline, in
the same run on the same texts: word 1-2 gram TF-IDF + logistic regression fitted once, as in
bench/quality.py. The median of `--runs` runs is reported. The goals are the budgets the training
tests used to assert (train 1,500 texts within 30 s, predict them within 5 s); a missed goal is
reported, never raised.
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
from collections.abc import Callable, Sequence  # noqa: E402
from itertools import cycle, islice  # noqa: E402
from typing import Any  # noqa: E402

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402

from classifier.pipeline import read_labelled_csv, train  # noqa: E402

SEED_GLOB = "classifier/data/displacement-risk/*.csv"
DEFAULT_TEXTS = 1500
QUICK_TEXTS = 300
TRAIN_BUDGET_S = 30.0
PREDICT_BUDGET_S = 5.0


def load_texts(count: int) -> tuple[list[str], list[str]]:
    """Return `count` (text, label) pairs of the seed corpus, cycling it when it is smaller."""
    texts: list[str] = []
    labels: list[str] = []
    for path in sorted(REPO_ROOT.glob(SEED_GLOB)):
        t, y = read_labelled_csv(path, check_label_counts=False)
        texts.extend(t)
        labels.extend(y)
    if not texts:
        raise SystemExit(f"no seed corpus matches {REPO_ROOT / SEED_GLOB}")
    pairs = list(islice(cycle(zip(texts, labels, strict=True)), count))
    return [t for t, _ in pairs], [y for _, y in pairs]


def _timed(action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action(*args, **kwargs)
    return result, time.perf_counter() - started


def baseline_model() -> Pipeline:
    """Return the baseline: word 1-2 gram TF-IDF + logistic regression (as in quality.py)."""
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000, random_state=0)
    )


def measure(texts: list[str], labels: list[str], runs: int) -> dict[str, Any]:
    """Time fitting and batch prediction of ours and the baseline, `runs` times each."""
    ours_fit: list[float] = []
    ours_predict: list[float] = []
    base_fit: list[float] = []
    base_predict: list[float] = []
    predicted = 0
    for _ in range(runs):
        base, seconds = _timed(baseline_model().fit, texts, labels)
        base_fit.append(seconds)
        base_predict.append(_timed(base.predict, texts)[1])
        model, seconds = _timed(train, texts, labels, seed=0)
        ours_fit.append(seconds)
        predictions, seconds = _timed(model.predict, texts)
        ours_predict.append(seconds)
        predicted = len(predictions)

    def summary(fit: list[float], predict: list[float]) -> dict[str, float]:
        p = statistics.median(predict)
        return {
            "train_s": statistics.median(fit),
            "predict_s": p,
            "predict_per_s": len(texts) / p if p else float("inf"),
        }

    ours = summary(ours_fit, ours_predict)
    return {
        "benchmark": "training",
        "texts": len(texts),
        "runs": runs,
        "baseline": summary(base_fit, base_predict),
        "ours": ours,
        "predicted": predicted,
        "goals": {
            f"train {len(texts):,} texts within {TRAIN_BUDGET_S:.0f} s": ours["train_s"]
            < TRAIN_BUDGET_S,
            f"predict {len(texts):,} texts within {PREDICT_BUDGET_S:.0f} s": ours["predict_s"]
            < PREDICT_BUDGET_S,
            "every text predicted": predicted == len(texts),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=None, help=f"default {DEFAULT_TEXTS:,}")
    parser.add_argument("--runs", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TEXTS} texts, one run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    count = args.texts or (QUICK_TEXTS if args.quick else DEFAULT_TEXTS)
    runs = args.runs or (1 if args.quick else 3)
    texts, labels = load_texts(count)
    result = measure(texts, labels, runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    b, o = result["baseline"], result["ours"]
    print(f"{result['texts']:,} texts, median of {runs} run(s)")
    header = f"{'measure':24s}{'baseline':>14s}{'ours':>14s}"
    print(header)
    print("-" * len(header))
    print(f"{'train s':24s}{b['train_s']:>14.2f}{o['train_s']:>14.2f}")
    print(f"{'predict s':24s}{b['predict_s']:>14.3f}{o['predict_s']:>14.3f}")
    print(f"{'predict texts/s':24s}{b['predict_per_s']:>14,.0f}{o['predict_per_s']:>14,.0f}")
    print()
    for goal, met in result["goals"].items():
        print(f"[{'x' if met else ' '}] {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
