"""Exposure to large language models on the rubric of Eloundou, Manning, Mishkin & Rock (2023).

Two pure computations, with no Django import, that everyone calls:

- `exposure_scores`: a respondent's alpha, beta and gamma from their own tasks, each coded E0 (no
  exposure), E1 (direct exposure) or E2 (exposure through software built on the model):
  alpha = share of tasks coded E1, beta = (E1 + 0.5 x E2) / n, gamma = (E1 + E2) / n, with n the
  number of tasks coded. Each score is the mean over the tasks of `task_score` (one task's
  contribution), which the audit-corrected means of the classifier use line by line.
- `reference_scores`: the paper's human-rated scores for each ISCO-08 group of occupations.json.
  The scores are per O*NET-SOC occupation (data/occupation-exposure.csv); each ISCO group gets,
  for each measure, the unweighted mean over its SOC 2018 codes (data/isco-soc.csv) of the
  unweighted mean over the O*NET occupations under that SOC code. SOC codes with no rated
  occupation are left out; the range (lowest and highest SOC mean) goes with it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from statistics import fmean

EXPOSURE_CODES = ("E0", "E1", "E2")
MEASURES = ("alpha", "beta", "gamma")
_DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class ExposureScores:
    """A respondent's exposure from n coded tasks (each score in 0..1)."""

    n: int
    alpha: float
    beta: float
    gamma: float


# One task's contribution to each measure, by its code.
_TASK_SCORES: Mapping[str, Mapping[str, float]] = {
    "alpha": {"E0": 0.0, "E1": 1.0, "E2": 0.0},
    "beta": {"E0": 0.0, "E1": 1.0, "E2": 0.5},
    "gamma": {"E0": 0.0, "E1": 1.0, "E2": 1.0},
}


def task_score(code: str | None, measure: str) -> float | None:
    """One task's contribution to `measure` (a respondent's score is their tasks' mean)."""
    return _TASK_SCORES[measure].get(code) if code is not None else None


def exposure_scores(labels: Iterable[str | None]) -> ExposureScores | None:
    """Scores of the tasks coded E0/E1/E2 among `labels` (others ignored); None with none coded."""
    coded = [label for label in labels if label in EXPOSURE_CODES]
    if not coded:
        return None
    n = len(coded)
    e1 = coded.count("E1")
    e2 = coded.count("E2")
    return ExposureScores(n=n, alpha=e1 / n, beta=(e1 + 0.5 * e2) / n, gamma=(e1 + e2) / n)


@dataclass(frozen=True)
class ReferenceScores:
    """The paper's human-rated exposure of one ISCO-08 group, with the SOC codes behind it."""

    isco: str
    soc: tuple[str, ...]  # the SOC codes that had rated occupations
    occupations: int  # O*NET occupations averaged
    alpha: float
    beta: float
    gamma: float
    # (lowest, highest) SOC-code mean of each measure: how much the group's codes disagree.
    ranges: Mapping[str, tuple[float, float]]


def _soc_means(rows: Iterable[Mapping[str, str]]) -> dict[str, dict[str, float | int]]:
    """{SOC code: {measure: mean over its O*NET occupations, "occupations": count}}."""
    grouped: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row["O*NET-SOC Code"][:7], []).append(row)
    return {
        soc: {
            **{m: fmean(float(r[f"human_rating_{m}"]) for r in members) for m in MEASURES},
            "occupations": len(members),
        }
        for soc, members in grouped.items()
    }


def aggregate_reference(
    rows: Iterable[Mapping[str, str]], crosswalk: Mapping[str, Sequence[str]]
) -> dict[str, ReferenceScores]:
    """Each ISCO group of `crosswalk` ({isco: SOC codes}) scored from occupation-level `rows`.

    Groups none of whose SOC codes is rated are left out.
    """
    by_soc = _soc_means(rows)
    result: dict[str, ReferenceScores] = {}
    for isco, codes in crosswalk.items():
        rated = tuple(code for code in dict.fromkeys(codes) if code in by_soc)
        if not rated:
            continue
        means = {m: [float(by_soc[code][m]) for code in rated] for m in MEASURES}
        result[isco] = ReferenceScores(
            isco=isco,
            soc=rated,
            occupations=sum(int(by_soc[code]["occupations"]) for code in rated),
            alpha=fmean(means["alpha"]),
            beta=fmean(means["beta"]),
            gamma=fmean(means["gamma"]),
            ranges={m: (min(values), max(values)) for m, values in means.items()},
        )
    return result


def read_crosswalk(path: Path) -> dict[str, list[str]]:
    """{ISCO-08 group: SOC 2018 codes} from a crosswalk CSV (lines starting with '#' skipped)."""
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    crosswalk: dict[str, list[str]] = {}
    for row in csv.DictReader(lines):
        crosswalk.setdefault(row["isco"].strip(), []).append(row["soc"].strip())
    return crosswalk


@cache
def reference_scores() -> Mapping[str, ReferenceScores]:
    """The shipped reference: {ISCO-08 group: its human-rated scores} (read once)."""
    with open(_DATA / "occupation-exposure.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return aggregate_reference(rows, read_crosswalk(_DATA / "isco-soc.csv"))
