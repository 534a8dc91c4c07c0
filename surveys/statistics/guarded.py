"""Statistics for callers who may not read raw answers: `differencing`'s rules over the queries.

`statistics_publish` is what the API answers: exact figures (`selectors.statistics_compute`)
for callers who may read the raw responses anyway, else the same tables built from every
complete response counted by the attributes the request restricts on (period, language, the
filtered variables' codes), so that each figure can be checked atom by atom before it is
published. One grouped query, as for the exact figures (in SQL where the variables allow).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from surveys.analytics.selectors import Selection, Wanted, analytics_counts
from surveys.core.databases import read_database
from surveys.models import Response
from surveys.statistics.cache import statistics_cached
from surveys.statistics.differencing import (
    Guard,
    Guarded,
    period_start,
    protect_crosstab,
    protect_frequency,
    snap_window,
    suppresses,
    unsafe_figures,
)
from surveys.statistics.estimators import mean_interval
from surveys.statistics.published import FrequencyTable
from surveys.statistics.requests import StatisticsInputError, StatisticsRequest, _is_likert
from surveys.statistics.selectors import (
    _categories,
    _category,
    _ci,
    _labelled_crosstab,
    _labelled_frequency,
    _number,
    _sql_countable,
    _sql_counts,
    _weight_factors,
    statistics_compute,
    statistics_envelope,
)
from surveys.variables.catalogue import SurveyVariable
from surveys.variables.reader import response_rows


def statistics_period() -> str:
    """The published period windows snap to (the EXPOSURE_STATISTICS_PERIOD setting)."""
    return str(getattr(settings, "EXPOSURE_STATISTICS_PERIOD", "month"))


def statistics_publish(*, request: StatisticsRequest, exact: bool) -> dict[str, Any]:
    """The statistics a caller may see: exact with raw access, else under `differencing`'s rules.

    Computed once per survey data version and request (`cache`). Raises StatisticsInputError for
    what the rules refuse (a status other than complete).
    """
    return statistics_cached(
        request=request,
        exact=exact,
        period=statistics_period(),
        compute=functools.partial(_publish, request=request, exact=exact),
    )


def _publish(*, request: StatisticsRequest, exact: bool) -> dict[str, Any]:
    if exact:
        data = statistics_compute(request=request)
        data["disclosure"] = {"exact": True, "period": None, "notes": []}
        return data
    restricted = restricted_request(request)
    if restricted.stat == "mean":
        result = _guarded_means(restricted)
    else:
        result = _guarded_frequencies(restricted)
    data = statistics_envelope(request=restricted, result=result)
    data["k_requested"] = request.k_requested
    data["k_note"] = (
        f"k is the survey's minimum cell size ({restricted.k}) for callers without access to "
        "the raw responses."
        if request.k_requested is not None
        else ""
    )
    # The audit's corrected shares cover every answer whatever the window or filter, so two
    # requests a day apart would differ by the day's respondents: withheld without raw access.
    data["estimates"] = None
    data["disclosure"] = {
        "exact": False,
        "period": statistics_period(),
        "notes": result["notes"],
    }
    return data


def restricted_request(request: StatisticsRequest) -> StatisticsRequest:
    """The request as the rules answer it: complete responses, whole periods, the survey's k."""
    if request.status != "complete":
        raise StatisticsInputError(
            "status",
            "Only complete responses are published to callers without access to the raw "
            "responses; leave out status.",
        )
    date_from, date_to = snap_window(request.date_from, request.date_to, statistics_period())
    return replace(request, date_from=date_from, date_to=date_to, k_requested=None)


# --- the complete responses, counted by the restricted attributes ---------------------------------


@dataclass(frozen=True)
class _Group:
    codes: tuple[Any, ...]  # the table's variables (values for means), then the filters' codes
    language: str
    day: date | None
    n: int


def _filter_variables(request: StatisticsRequest) -> list[tuple[SurveyVariable, set[str]]]:
    by_name: dict[str, tuple[SurveyVariable, set[str]]] = {}
    for variable, code in request.filters:
        by_name.setdefault(variable.name, (variable, set()))[1].add(code)
    return list(by_name.values())


def _base(request: StatisticsRequest) -> QuerySet[Response]:
    return (
        Response.objects.using(read_database())
        .filter(survey=request.survey, status=Response.Status.COMPLETE)
        .order_by()
    )


def _local_day(moment: Any) -> date | None:
    return timezone.localdate(moment) if moment is not None else None


def _groups(
    request: StatisticsRequest, variables: Sequence[SurveyVariable], *, raw: bool = False
) -> list[_Group]:
    """Complete responses counted by their codes of `variables`, language and submission day.

    The day only when the request has a date window: without one no atom is split by period
    (`_Scope.atom`), and each group's day would only multiply the groups (hundreds of thousands
    at a million responses, each checked in Python). raw=True reads every response (values
    unconverted, one group each), as means need.
    """
    by_day = bool(request.date_from or request.date_to)
    width = len(variables)
    if not raw and all(v.categorical for v in variables):
        stored = analytics_counts(
            survey_id=request.survey.pk,
            variables=[Wanted(v.source, v.boolean) for v in variables],
            selection=Selection(),
            extra=("language", "day") if by_day else ("language",),
        )
        if stored is not None:
            return [_counted_group(codes, n, width, by_day) for codes, n in stored]
    if not raw and all(_sql_countable(v) for v in variables):
        responses = _base(request)
        extra: tuple[str, ...] = ("language",)
        if by_day:
            responses, extra = (
                responses.annotate(_day=TruncDate("submitted_at")),
                ("language", "_day"),
            )
        return [
            _counted_group(codes, n, width, by_day)
            for codes, n in _sql_counts(responses, variables, extra=extra)
        ]
    distinct = list({v.name: v for v in variables}.values())
    where = {v.name: position for position, v in enumerate(distinct)}
    counted: Counter[tuple[tuple[Any, ...], str, date | None]] = Counter()
    groups = []
    for response, values in response_rows(
        survey=request.survey, variables=distinct, responses=_base(request)
    ):
        row = [values[where[v.name]] for v in variables]
        day = _local_day(response.submitted_at) if by_day else None
        if raw:
            groups.append(_Group(tuple(row), response.language, day, 1))
        else:
            counted[tuple(_category(value) for value in row), response.language, day] += 1
    return groups + [_Group(codes, lang, day, n) for (codes, lang, day), n in counted.items()]


def _counted_group(codes: Sequence[Any], n: int, width: int, by_day: bool) -> _Group:
    """A group from a count's codes: the variables' codes, the language, then the day if asked."""
    day = codes[width + 1] if by_day else None
    return _Group(
        tuple(codes[:width]), str(codes[width]), date.fromisoformat(day) if day else None, n
    )


class _Scope:
    """Which groups the request covers, and the atom each group belongs to.

    A restriction that leaves out nobody (a window around every response, say) selects the same
    respondents as no restriction at all, so it splits nothing into atoms.
    """

    def __init__(self, request: StatisticsRequest, first_filter: int) -> None:
        self.request = request
        self.filters = _filter_variables(request)
        self.first_filter = first_filter
        self.unit = statistics_period()
        self.window = bool(request.date_from or request.date_to)
        self.language = bool(request.language)
        self.active = [True] * len(self.filters)

    def settle(self, groups: Sequence[_Group]) -> None:
        """Leave out of the atoms the restrictions that every group meets."""
        self.window = self.window and not all(self._in_window(g) for g in groups)
        self.language = self.language and any(g.language != self.request.language for g in groups)
        for position, (_variable, wanted) in enumerate(self.filters):
            self.active[position] = any(
                _category(g.codes[self.first_filter + position]) not in wanted for g in groups
            )

    def _in_window(self, group: _Group) -> bool:
        request = self.request
        if not (request.date_from or request.date_to):
            return True
        if group.day is None:
            return False
        if request.date_from and group.day < request.date_from:
            return False
        return not (request.date_to and group.day > request.date_to)

    def inside(self, group: _Group) -> bool:
        if not self._in_window(group):
            return False
        if self.request.language and group.language != self.request.language:
            return False
        codes = group.codes[self.first_filter :]
        return all(
            _category(code) in wanted
            for code, (_variable, wanted) in zip(codes, self.filters, strict=True)
        )

    def atom(self, group: _Group) -> tuple[Any, ...]:
        parts: list[Any] = []
        if self.window:
            parts.append(period_start(group.day, self.unit) if group.day else None)
        if self.language:
            parts.append(group.language)
        codes = group.codes[self.first_filter :]
        parts.extend(_category(code) for code, on in zip(codes, self.active, strict=True) if on)
        return tuple(parts)


def _figures(key: Any, *, by: bool, missing: bool, excluded: bool) -> list[Any]:
    """The published figures a group of respondents counts in (see `differencing.Guard`)."""
    if excluded:
        return ["excluded", "n"]
    if missing:
        return ["missing", "n"]
    if by:
        row, col = key
        return [("cell", row, col), ("row", row), ("col", col), "total", "n"]
    return [("cell", key), "total", "n"]


# --- frequency tables and cross-tabulations -------------------------------------------------------


def _table_variables(request: StatisticsRequest) -> list[SurveyVariable]:
    return [
        request.variable,
        *([request.by] if request.by else []),
        *([request.weights] if request.weights else []),
    ]


def _guarded_frequencies(request: StatisticsRequest) -> dict[str, Any]:
    table_variables = _table_variables(request)
    scope = _Scope(request, len(table_variables))
    groups = _groups(request, table_variables + [v for v, _ in scope.filters])
    scope.settle(groups)
    weighted = request.weights is not None
    inside = [g for g in groups if scope.inside(g)]
    factors = (
        _weight_factors(request, [(g.codes[: len(table_variables)], g.n) for g in inside])
        if weighted
        else {}
    )
    counts: Counter[Any] = Counter()
    sums: dict[Any, float] = {}
    squares: dict[Any, float] = {}
    checks: list[tuple[Any, Any, int]] = []
    strata: list[tuple[Any, Any, int]] = []
    excluded = 0
    for group in groups:
        stratum = group.codes[len(table_variables) - 1] if weighted else None
        key = (group.codes[1], group.codes[0]) if request.by else group.codes[0]
        missing = group.codes[0] is None or (request.by is not None and group.codes[1] is None)
        atom = scope.atom(group)
        drop = weighted and stratum is None
        for figure in _figures(key, by=request.by is not None, missing=missing, excluded=drop):
            checks.append((atom, figure, group.n))
        if weighted and not drop and not missing:
            strata.append((atom, (key, stratum), group.n))
        if not scope.inside(group):
            continue
        if drop:
            excluded += group.n
            continue
        counts[key] += group.n
        if weighted:
            factor = factors[str(stratum)]
            sums[key] = sums.get(key, 0.0) + group.n * factor
            squares[key] = squares.get(key, 0.0) + group.n * factor * factor
    guard = Guard(
        unsafe=frozenset(unsafe_figures(checks, k=request.k)),
        excluded=excluded,
        weighting_ok=not unsafe_figures(strata, k=request.k),
    )
    guarded = _protect(request, counts, guard, (sums, squares) if weighted else None)
    return _frequency_result(request, guarded, counts, excluded)


def _protect(
    request: StatisticsRequest,
    counts: Counter[Any],
    guard: Guard,
    weights: tuple[dict[Any, float], dict[Any, float]] | None,
) -> Guarded:
    sums, squares = weights if weights else (None, None)
    if request.by is None:
        return protect_frequency(
            counts,
            categories=_categories(request.variable, counts),
            guard=guard,
            k=request.k,
            weight_sums=sums,
            weight_squares=squares,
        )
    return protect_crosstab(
        counts,
        row_categories=_categories(request.by, (row for row, _ in counts)),
        col_categories=_categories(request.variable, (col for _, col in counts)),
        guard=guard,
        k=request.k,
        weight_sums=sums,
        weight_squares=squares,
    )


def _notes(guarded: Guarded, weighted: bool) -> list[str]:
    notes = []
    if guarded.withheld:
        notes.append(
            "The table is withheld: its only non-zero figures could be worked out from the "
            "number of respondents, which other tables of this selection publish."
        )
    if weighted and guarded.weighted_withheld:
        notes.append(
            "Weighted figures are withheld: the table, crossed with the weighting strata, has "
            "groups of fewer than k respondents."
        )
    return notes


def _frequency_result(
    request: StatisticsRequest, guarded: Guarded, counts: Counter[Any], excluded: int
) -> dict[str, Any]:
    if request.by is None:
        data = _labelled_frequency(guarded.table, request.variable, request.lang)  # type: ignore[arg-type]
    else:
        data = _labelled_crosstab(guarded.table, request.by, request.variable, request.lang)  # type: ignore[arg-type]
    data["withheld"] = guarded.withheld
    data["weighted_withheld"] = guarded.weighted_withheld
    return {
        "table": data,
        "n_total": sum(counts.values()) + excluded,
        "excluded": excluded,
        "parts_hidden": guarded.n_hidden,
        "n_hidden": guarded.n_hidden,
        "excluded_hidden": guarded.excluded_hidden,
        "notes": _notes(guarded, request.weights is not None),
    }


# --- means ----------------------------------------------------------------------------------------


def _value(request: StatisticsRequest, raw: Any) -> float | None:
    if str(raw) in request.variable.missing:
        return None
    return _number(raw, _is_likert(request.variable))


def _hidden_estimate(weighted: bool, n: int | None = None) -> dict[str, Any]:
    return {
        "mean": None, "low": None, "high": None, "ci": None, "n": n, "sd": None,
        "n_effective": None, "confidence": 0.95, "weighted": weighted,
        "suppressed": n is None,
    }  # fmt: skip


def _estimate(values: Iterable[tuple[float, float | None]], weighted: bool) -> dict[str, Any]:
    pairs = list(values)
    result = mean_interval(
        [v for v, _ in pairs],
        [w for _, w in pairs] if weighted else None,  # type: ignore[misc]
    ).as_dict()
    result["ci"] = _ci(result["low"], result["high"])
    result["suppressed"] = False
    return result


def _guarded_means(request: StatisticsRequest) -> dict[str, Any]:
    table_variables = _table_variables(request)
    scope = _Scope(request, len(table_variables))
    groups = _groups(request, table_variables + [v for v, _ in scope.filters], raw=True)
    scope.settle(groups)
    weighted = request.weights is not None
    by = request.by is not None
    checks: list[tuple[Any, Any, int]] = []
    strata: list[tuple[Any, Any, int]] = []
    counts: Counter[Any] = Counter()
    members: dict[Any, list[tuple[float, str | None]]] = {}
    strata_n: Counter[Any] = Counter()  # weights count every respondent with a stratum
    excluded = 0
    for group in groups:
        value = _value(request, group.codes[0])
        code = _category(group.codes[1]) if by else "all"
        stratum = _category(group.codes[len(table_variables) - 1]) if weighted else None
        drop = weighted and stratum is None
        missing = value is None or code is None
        atom = scope.atom(group)
        for figure in _figures(code, by=False, missing=missing, excluded=drop):
            checks.append((atom, figure, 1))
        if weighted and not drop and not missing:
            strata.append((atom, (code, stratum), 1))
        if not scope.inside(group):
            continue
        if drop:
            excluded += 1
            continue
        strata_n[stratum] += 1
        if missing:
            counts[None] += 1
        else:
            counts[code] += 1
            members.setdefault(code, []).append((value, stratum))  # type: ignore[arg-type]
    guard = Guard(
        unsafe=frozenset(unsafe_figures(checks, k=request.k)),
        excluded=excluded,
        weighting_ok=not unsafe_figures(strata, k=request.k),
    )
    codes = _categories(request.by, counts) if request.by else ["all"]
    guarded = protect_frequency(counts, categories=codes, guard=guard, k=request.k)
    weights_withheld = weighted and (not guard.weighting_ok or suppresses(guarded.table))
    return _means_result(
        request, strata_n, guarded, codes, members, counts, excluded, weights_withheld
    )


def _mean_factors(request: StatisticsRequest, strata_n: Counter[Any]) -> dict[str, float]:
    """Each stratum's weight, from the selection's respondents who have one."""
    return _weight_factors(request, [((s,), n) for s, n in strata_n.items()])


def _means_result(
    request: StatisticsRequest,
    strata_n: Counter[Any],
    guarded: Guarded,
    codes: list[str],
    members: dict[Any, list[tuple[float, str | None]]],
    counts: Counter[Any],
    excluded: int,
    weights_withheld: bool,
) -> dict[str, Any]:
    weighted = request.weights is not None
    factors = _mean_factors(request, strata_n) if weighted else {}

    def estimate(code: Any, cell_hidden: bool) -> dict[str, Any]:
        if cell_hidden:
            return _hidden_estimate(weighted)
        if not members.get(code):
            return {**_hidden_estimate(weighted, 0), "suppressed": False}
        if weights_withheld:
            return _hidden_estimate(weighted, len(members[code]))
        pairs = [(v, factors.get(s) if s is not None else None) for v, s in members[code]]
        return _estimate(pairs, weighted)

    table = guarded.table
    assert isinstance(table, FrequencyTable)  # group sizes are a one-way table
    every = [pair for code in codes for pair in members.get(code, [])]
    members_all = {"__all__": every}
    groups = []
    if request.by is not None:
        for code, cell in zip(codes, table.cells, strict=True):
            entry = estimate(code, cell.suppressed)
            groups.append(
                {"code": code, "label": request.by.value_label(code, request.lang), **entry}
            )
    members.update(members_all)
    overall = estimate("__all__", table.total.suppressed)
    notes = _notes(guarded, False)
    if weights_withheld:
        notes.append(
            "Weighted estimates are withheld: a group, crossed with the weighting strata, has "
            "fewer than k respondents, or a figure of the table is suppressed."
        )
    return {
        "table": {
            "kind": "means",
            "weighted": weighted,
            "k": request.k,
            "confidence": 0.95,
            "groups": groups,
            "overall": overall,
            "missing": table.missing,
            "missing_suppressed": table.missing_suppressed,
            "withheld": guarded.withheld,
            "weighted_withheld": weights_withheld,
        },
        "n_total": sum(counts.values()) + excluded,
        "excluded": excluded,
        "parts_hidden": guarded.n_hidden,
        "n_hidden": guarded.n_hidden,
        "excluded_hidden": guarded.excluded_hidden,
        "notes": notes,
    }
