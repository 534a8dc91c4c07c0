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
from collections.abc import Callable
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


def _population(data: dict[str, Any]) -> Callable[[Cell], bool]:
    filters = data["filters"]
    start = date.fromisoformat(filters["from"]) if filters["from"] else None
    end = date.fromisoformat(filters["to"]) if filters["to"] else None
    # Windows are whole months for these callers, so a month is inside or outside entirely.
    assert start is None or start.day == 1, filters
    assert end is None or (end + timedelta(days=1)).day == 1, filters
    wanted: dict[str, set[str]] = {}
    for item in filters["filter"]:
        wanted.setdefault(item["variable"], set()).add(item["code"])
    language = filters["language"]

    def inside(cell: Cell) -> bool:
        month = cell["month"]
        if start and month < _month(start):
            return False
        if end and month > _month(end):
            return False
        if language and cell["language"] != language:
            return False
        return all(cell[v] in codes for v, codes in wanted.items())

    return inside


def _equations(data: dict[str, Any]) -> list[tuple[Callable[[Cell], bool], float | None, str]]:
    """(set of joint cells, published count or None when suppressed, label) for each figure."""
    inside = _population(data)
    main = data["variable"]["name"]
    by = data["by"]["name"] if data["by"] else None
    stratum = data["weighting"]["variable"] if data["weighting"] else None
    table = data["table"]

    def counted(cell: Cell) -> bool:
        return inside(cell) and (stratum is None or cell[stratum] is not None)

    def answered(cell: Cell) -> bool:
        return counted(cell) and cell[main] is not None and (by is None or cell[by] is not None)

    out: list[tuple[Callable[[Cell], bool], float | None, str]] = [
        (inside, data["n"], "n"),
        (answered, table["total"]["n"], "total"),
        (lambda c: counted(c) and not answered(c), table["missing"], "missing"),
    ]
    if stratum:
        excluded = data["weighting"]["excluded"]
        out.append((lambda c: inside(c) and c[stratum] is None, excluded, "excluded"))
    if table["kind"] == "frequency":
        for cell in table["cells"]:
            code = cell["code"]
            out.append((lambda c, code=code: answered(c) and c[main] == code, cell["n"], code))
        return out
    for line in table["cells"]:
        for cell in line:
            row, col = cell["row"], cell["col"]
            out.append(
                (
                    lambda c, row=row, col=col: answered(c) and c[by] == row and c[main] == col,
                    cell["n"],
                    f"{row}/{col}",
                )
            )
    for total in table["row_totals"]:
        row = total["row"]
        out.append((lambda c, row=row: answered(c) and c[by] == row, total["n"], f"row {row}"))
    for total in table["col_totals"]:
        col = total["col"]
        out.append((lambda c, col=col: answered(c) and c[main] == col, total["n"], f"col {col}"))
    return out


def _weighted_equations(
    data: dict[str, Any], space: list[Cell], truth: np.ndarray
) -> list[tuple[np.ndarray, float]]:
    """Published weighted counts as equations, the attacker given the true weights."""
    if not data["weighting"] or data["table"]["kind"] != "frequency":
        return []
    inside = _population(data)
    stratum = data["weighting"]["variable"]
    targets = data["weighting"]["targets"]
    main = data["variable"]["name"]
    members = np.asarray([inside(c) and c[stratum] is not None for c in space])
    total = float(truth[members].sum())
    sizes = {
        s: float(truth[[m and c[stratum] == s for m, c in zip(members, space, strict=True)]].sum())
        for s in targets
    }
    share = sum(targets.values())
    found = []
    for cell in data["table"]["cells"]:
        if cell["weighted_n"] is None:
            continue
        row = np.zeros(len(space))
        for i, c in enumerate(space):
            if members[i] and c[main] == cell["code"] and sizes.get(c[stratum]):
                row[i] = targets[c[stratum]] / share * total / sizes[c[stratum]]
        found.append((row, float(cell["weighted_n"])))
    return found


# --- the solver ---------------------------------------------------------------------------------


class Attacker:
    def __init__(self, space: list[Cell], truth: np.ndarray) -> None:
        self.space = space
        self.truth = truth
        self.rows: dict[bytes, float] = {}
        self.float_rows: list[tuple[np.ndarray, float]] = []
        self.hidden: dict[bytes, str] = {}

    def learn(self, data: dict[str, Any], where: str) -> None:
        for predicate, value, label in _equations(data):
            mask = np.fromiter((predicate(c) for c in self.space), bool, len(self.space))
            key = np.packbits(mask).tobytes()
            if value is None:
                self.hidden.setdefault(key, f"{where}: {label}")
            else:
                assert self.truth[mask].sum() == value, (where, label)
                self.rows[key] = value
        self.float_rows += _weighted_equations(data, self.space, self.truth)

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
    monkeypatch.setattr(requests, "survey_variables", lambda survey: variables)
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
    # (1) No suppressed figure is determined by the published ones.
    pinned = []
    for key, where in attacker.hidden.items():
        mask = np.unpackbits(np.frombuffer(key, np.uint8))[: len(space)].astype(float)
        if key not in attacker.rows and attacker.pinned(mask, constraints):
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
