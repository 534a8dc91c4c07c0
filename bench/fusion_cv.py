"""Macro-F1 of the baseline, the default and the two-view model under occupation-grouped CV.

One cross-validation pass per model on the same folds (no nested threshold selection, so it fits
the full data on two shared cores, unlike ``quality.py --grouped-only``)::

    python bench/fusion_cv.py [--csv PATH] [--folds 5] [--models baseline,tfidf,...] [--json]

The folds are the pipeline's own (:func:`classifier.pipeline.evaluate` with the occupation codes
as groups: stratified, grouped, shuffled with seed 0); they depend on the data only, so models run
in separate processes share them. The pipeline models pick C (and the fused model its weight)
by the calibrated log-loss of the same pass, as training does; labels are the arg-max of the
calibrated probabilities. The baseline (word 1-2 gram TF-IDF + logistic regression) is fitted on
the same training folds.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from bench.quality import FUSED, NO_LEAD, SHARED_CSV, baseline_model, load_data, prime_embeddings  # noqa: E402
from classifier.pipeline import ModelConfig, evaluate  # noqa: E402
from classifier.pipeline.folds import group_ids, make_folds  # noqa: E402

CONFIGS = {"tfidf": ModelConfig(), "tfidf-no-lead": NO_LEAD, "fused": FUSED}
SEED = 0


def _baseline(texts: list[str], labels: np.ndarray, folds: list[Any]) -> float:
    predicted = np.empty(len(texts), dtype=object)
    for tr, te in folds:
        model = baseline_model().fit([texts[i] for i in tr], labels[tr])
        predicted[te] = model.predict([texts[i] for i in te])
    return float(f1_score(labels.astype(str), predicted.astype(str), average="macro"))


def run(csv: Path, k: int, names: Sequence[str]) -> dict[str, Any]:
    data = load_data(csv, quick=False)
    labels = data.labels.astype(str)
    groups = group_ids(data.texts, list(data.occupations))
    folds = make_folds(data.texts, list(labels), k, SEED, groups=groups)
    out: dict[str, Any] = {"data": data.source, "n": len(data.texts), "folds": k, "models": {}}
    if "fused" in names:
        out["embeddings"] = prime_embeddings(data.texts)
    for name in names:
        started = time.perf_counter()
        if name == "baseline":
            figures: dict[str, Any] = {"macro_f1": _baseline(data.texts, labels, folds)}
        else:
            ev = evaluate(
                data.texts,
                list(labels),
                groups=list(data.occupations),
                folds=k,
                seed=SEED,
                config=CONFIGS[name],
            )
            for f, (_, te) in enumerate(folds):  # the same folds as the baseline's
                assert (ev.fold_of[te] == f).all()
            figures = {"macro_f1": ev.macro_f1, "accuracy": ev.accuracy, "log_loss": ev.log_loss}
        figures["seconds"] = round(time.perf_counter() - started, 1)
        out["models"][name] = figures
        print(f"{name}: {figures}", file=sys.stderr, flush=True)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--csv", default=str(SHARED_CSV))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--models", default="baseline,tfidf,tfidf-no-lead,fused")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    names = [n for n in args.models.split(",") if n]
    unknown = set(names) - {"baseline", *CONFIGS}
    if unknown:
        parser.error(f"unknown model(s): {', '.join(sorted(unknown))}")
    result = run(Path(args.csv), args.folds, names)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, figures in result["models"].items():
            print(f"{name:12s} macro-F1 {figures['macro_f1']:.4f}  ({figures['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
