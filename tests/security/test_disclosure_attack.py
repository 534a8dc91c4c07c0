"""An attacker with an integer solver against the statistics a caller without raw access gets.

The attacker asks every question the API answers over a bounded space (windows around the
response dates, each language, each single filter and pair of filters, every one-way table and
cross-tabulation of five variables, weighted tables) and writes every published count as a
linear equation in the unknown numbers of respondents in each joint cell (month x language x
employment x occupation x lost work x union membership). With scipy's MILP it then tries to
pin down (1) any figure an answer suppressed and (2) any respondent's answer, knowing the
month and language of their response. Neither may succeed.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from surveys.models import Survey
from tests.security import disclosure_world as w

pytestmark = pytest.mark.slow

MONTHS = [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
LANGUAGES = ["en", "zh-hans"]
EMPLOYMENT = ["staff", "freelance", "agency", "mixed", "other"]
LOST = ["0", "1"]
UNION = ["yes", "no", "dont_know", None]
# Day windows snap to months, so a few dates on either side of the month's end cover them all.
DATES = [None, "2026-01-20", "2026-01-31", "2026-02-16"]
TABLE_VARIABLES = ["employment_type", "occupation", "lost_work", "language", "union_member"]
Cell = dict[str, Any]


def _space() -> list[Cell]:
    attributes = itertools.product(MONTHS, LANGUAGES, EMPLOYMENT, w.occupations(), LOST, UNION)
    names = ["month", "language", "employment_type", "occupation", "lost_work", "union_member"]
    return [dict(zip(names, values, strict=True)) for values in attributes]


def _month(day: date) -> date:
    return day.replace(day=1)


def _queries() -> list[str]:
    tables = [f"variable={v}" for v in TABLE_VARIABLES] + [
        f"variable={a}&by={b}" for a, b in itertools.combinations(TABLE_VARIABLES, 2)
    ]
    windows = [(a, b) for a, b in itertools.product(DATES, DATES) if not (a and b and a > b)]
    scopes = []
    for (start, end), language in itertools.product(windows, [None, *LANGUAGES]):
        parts = [f"from={start}" if start else "", f"to={end}" if end else ""]
        parts.append(f"language={language}" if language else "")
        scopes.append("&".join(p for p in parts if p))
    codes = {
        "employment_type": EMPLOYMENT[:4],
        "occupation": w.occupations(),
        "lost_work": LOST,
        "language": LANGUAGES,
        "union_member": ["yes", "no"],
    }
    singles = [f"filter={v}:{c}" for v, cs in codes.items() for c in cs]
    pairs = [
        f"{a}&{b}"
        for a, b in itertools.combinations(singles, 2)
        if a.split(":")[0] != b.split(":")[0]
    ]
    scopes += singles
    queries = [f"{table}&{scope}" if scope else table for table in tables for scope in scopes]
    # Pairs of filters on the one-way tables (a cross-tab is a one-way table per filter code).
    queries += [f"{table}&{pair}" for table in tables[: len(TABLE_VARIABLES)] for pair in pairs]
    weights = [
        "weights=language&targets=en:0.5,zh-hans:0.5",
        "weights=lost_work&targets=0:0.5,1:0.5",
    ]
    queries += [f"{table}&{weight}" for table in tables for weight in weights]
    return queries


# --- what a published answer says about the joint cells ----------------------------------------

Columns = dict[str, np.ndarray]


def _columns(space: list[Cell]) -> Columns:
    return {name: np.asarray([c[name] for c in space], dtype=object) for name in space[0]}


def _population(data: dict[str, Any], cols: Columns) -> np.ndarray:
    """The joint cells inside the answer's selection (windows are whole months here)."""
    filters = data["filters"]
    start = date.fromisoformat(filters["from"]) if filters["from"] else None
    end = date.fromisoformat(filters["to"]) if filters["to"] else None
    assert start is None or start.day == 1, filters
    assert end is None or (end + timedelta(days=1)).day == 1, filters
    inside = np.ones(len(cols["month"]), dtype=bool)
    if start:
        inside &= np.asarray([m >= _month(start) for m in cols["month"]])
    if end:
        inside &= np.asarray([m <= _month(end) for m in cols["month"]])
    if filters["language"]:
        inside &= cols["language"] == filters["language"]
    wanted: dict[str, set[str]] = {}
    for item in filters["filter"]:
        wanted.setdefault(item["variable"], set()).add(item["code"])
    for variable, codes in wanted.items():
        inside &= np.isin(cols[variable], list(codes))
    return inside


def _equations(data: dict[str, Any], cols: Columns) -> list[tuple[np.ndarray, float | None, str]]:
    """(joint cells, published count or None when suppressed, label) for each figure."""
    inside = _population(data, cols)
    main = cols[data["variable"]["name"]]
    by = cols[data["by"]["name"]] if data["by"] else None
    stratum = data["weighting"]["variable"] if data["weighting"] else None
    table = data["table"]
    counted = inside & (cols[stratum] != None) if stratum else inside  # noqa: E711
    answered = counted & (main != None)  # noqa: E711
    if by is not None:
        answered &= by != None  # noqa: E711
    out: list[tuple[np.ndarray, float | None, str]] = [
        (inside, data["n"], "n"),
        (answered, table["total"]["n"], "total"),
        (counted & ~answered, table["missing"], "missing"),
    ]
    if stratum:
        out.append((inside & ~counted, data["weighting"]["excluded"], "excluded"))
    if table["kind"] == "frequency":
        for cell in table["cells"]:
            out.append((answered & (main == cell["code"]), cell["n"], cell["code"]))
        return out
    for line in table["cells"]:
        for cell in line:
            where = answered & (by == cell["row"]) & (main == cell["col"])
            out.append((where, cell["n"], f"{cell['row']}/{cell['col']}"))
    for total in table["row_totals"]:
        out.append((answered & (by == total["row"]), total["n"], f"row {total['row']}"))
    for total in table["col_totals"]:
        out.append((answered & (main == total["col"]), total["n"], f"col {total['col']}"))
    return out


def _weighted_equations(
    data: dict[str, Any], cols: Columns, truth: np.ndarray
) -> list[tuple[np.ndarray, float]]:
    """Published weighted counts as equations, the attacker given the true weights."""
    if not data["weighting"] or data["table"]["kind"] != "frequency":
        return []
    stratum = cols[data["weighting"]["variable"]]
    targets = data["weighting"]["targets"]
    main = cols[data["variable"]["name"]]
    members = _population(data, cols) & (stratum != None)  # noqa: E711
    total = float(truth[members].sum())
    share = sum(targets.values())
    factor = np.zeros(len(truth))
    for code, target in targets.items():
        group = members & (stratum == code)
        if truth[group].sum():
            factor[group] = target / share * total / truth[group].sum()
    return [
        (factor * (main == cell["code"]), float(cell["weighted_n"]))
        for cell in data["table"]["cells"]
        if cell["weighted_n"] is not None
    ]


# --- the solver ---------------------------------------------------------------------------------


class Attacker:
    def __init__(self, space: list[Cell], truth: np.ndarray) -> None:
        self.space = space
        self.cols = _columns(space)
        self.truth = truth
        self.rows: dict[bytes, float] = {}
        self.float_rows: list[tuple[np.ndarray, float]] = []
        self.hidden: dict[bytes, str] = {}

    def learn(self, data: dict[str, Any], where: str) -> None:
        for mask, value, label in _equations(data, self.cols):
            key = np.packbits(mask).tobytes()
            if value is None:
                self.hidden.setdefault(key, f"{where}: {label}")
            else:
                assert self.truth[mask].sum() == value, (where, label)
                self.rows[key] = value
        self.float_rows += _weighted_equations(data, self.cols, self.truth)

    def _constraints(self) -> list[LinearConstraint]:
        size = len(self.space)
        matrix = lil_matrix((len(self.rows), size))
        values = np.zeros(len(self.rows))
        for i, (key, value) in enumerate(self.rows.items()):
            mask = np.unpackbits(np.frombuffer(key, np.uint8))[:size].astype(bool)
            matrix[i, np.flatnonzero(mask)] = 1
            values[i] = value
        constraints = [LinearConstraint(matrix.tocsr(), values, values)]
        for row, value in self.float_rows:
            constraints.append(LinearConstraint(row[None, :], value - 1e-6, value + 1e-6))
        return constraints

    def pinned(self, objective: np.ndarray, constraints: list[LinearConstraint]) -> bool:
        """True when every integer solution gives `objective` its true value."""
        truth = float(objective @ self.truth)
        for sign in (1.0, -1.0):
            result = milp(
                sign * objective,
                constraints=constraints,
                integrality=np.ones(len(self.space)),
                bounds=Bounds(0, len(w.PEOPLE)),
            )
            assert result.status == 0, result.message  # the truth is always a solution
            if abs(float(objective @ result.x) - truth) > 0.5:
                return False
        return True


def _truth(space: list[Cell]) -> np.ndarray:
    index = {tuple(c.values()): i for i, c in enumerate(space)}
    counts = np.zeros(len(space))
    for person in w.truth():
        key = (
            _month(person["day"]),
            person["language"],
            person["employment_type"],
            person["occupation"],
            person["lost_work"],
            person["union_member"],
        )
        counts[index[key]] += 1
    return counts


@pytest.fixture
def world(default_survey: Survey, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from surveys.api.views import StatisticsApi
    from surveys.statistics import requests

    # Thousands of requests in a row: no throttle, and the survey's variables (which do not
    # change here) resolved once rather than on each request.
    monkeypatch.setattr(StatisticsApi, "throttle_classes", [])
    variables = requests.survey_variables(survey=default_survey)
    monkeypatch.setattr(requests, "survey_variables", lambda survey, **_: variables)
    return w.build(default_survey)


def test_an_integer_solver_pins_down_nothing(world):
    survey = world["survey"]
    clients = w.clients(world)
    space = _space()
    truth = _truth(space)
    attacker = Attacker(space, truth)
    for position, query in enumerate(_queries()):
        response = clients["anonymous"].get(f"{w.API}/surveys/{survey.slug}/statistics/?{query}")
        assert response.status_code == 200, (query, response.content[:300])
        data = response.json()
        if position % 7 == 0:  # coders get the very same answers (sampled: one in seven)
            as_coder = clients["coder"].get(f"{w.API}/surveys/{survey.slug}/statistics/?{query}")
            assert as_coder.json() == data, query
        attacker.learn(data, query)
    constraints = attacker._constraints()
    # (1) No suppressed figure is determined by the published ones. (Zeros withheld beside a
    # small count are left to (2): what they would say is what a group did not answer.)
    pinned = []
    for key, where in attacker.hidden.items():
        mask = np.unpackbits(np.frombuffer(key, np.uint8))[: len(space)].astype(float)
        if key in attacker.rows or mask @ truth == 0:
            continue
        if attacker.pinned(mask, constraints):
            pinned.append((where, int(mask @ truth)))
    assert pinned == []
    # (2) No respondent's answer follows from the month and language of their response.
    disclosed = []
    for person in w.truth():
        for variable in ("employment_type", "occupation", "lost_work", "union_member"):
            others = np.asarray(
                [
                    c["month"] == _month(person["day"])
                    and c["language"] == person["language"]
                    and c[variable] != person[variable]
                    for c in space
                ],
                dtype=float,
            )
            result = milp(
                -others,
                constraints=constraints,
                integrality=np.ones(len(space)),
                bounds=Bounds(0, len(w.PEOPLE)),
            )
            if result.status == 0 and float(others @ result.x) < 0.5:
                disclosed.append((person["day"], person["language"], variable))
    assert disclosed == []
