"""Statistics of a survey's responses: the Django side of the pure estimators and tables.

Turns the statistics API's parameters (variable names, filters, weights) into the plain values the
statistics core takes, and its tables into JSON-able dicts with labels. Frequency tables and
cross-tabulations, weighted or not, start from respondents counted by their codes: grouped in SQL
for answer and response variables (each variable one LEFT JOIN of the answers on the response,
each filter one semi-join), counted while reading for the others. Weights are per stratum, so a
cell's weight sum is its count per stratum times the stratum's weight, and everything after the
query is proportional to the number of cells, never to the number of respondents. Means, and
the variables SQL cannot group, are read through `response_rows`, chunk by chunk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Case, CharField, Count, FilteredRelation, Q, QuerySet, Value, When
from django.utils import timezone

from surveys.analytics.selectors import Selection, Wanted, analytics_counts
from surveys.core.databases import read_database
from surveys.core.i18n import translate
from surveys.models import Response, Survey
from surveys.statistics.disclosure import suppress_one_way
from surveys.statistics.estimators import (
    mean_interval,
    poststratification_factors,
    poststratification_weights,
)
from surveys.statistics.published import CrossTable, FrequencyTable
from surveys.statistics.requests import (
    StatisticsInputError,
    StatisticsRequest,
    _is_likert,
)
from surveys.statistics.tables import (
    crosstab_from_counts,
    frequency_table_from_counts,
)
from surveys.variables.catalogue import SurveyVariable, provider_estimates
from surveys.variables.filters import variable_matches
from surveys.variables.reader import response_rows

# Above this many value labels (countries, occupations) a table lists only the categories that
# occur, rather than hundreds of zero rows.
MAX_LISTED_CATEGORIES = 50
_SQL_ORIGINS = {"answer", "response"}


def statistics_responses(*, request: StatisticsRequest) -> QuerySet[Response]:
    """The survey's responses matching the request's status, dates, language and filters.

    Dates are those of submission (of the start, for responses not submitted). Several filters
    on one variable keep responses matching any of the codes; filters on different variables
    must all match.
    """
    responses = Response.objects.using(read_database()).filter(survey=request.survey)
    if request.status != "all":
        responses = responses.filter(status=request.status)
    if request.date_from:
        responses = responses.filter(_dated(request, "gte", _day_start(request.date_from)))
    if request.date_to:
        responses = responses.filter(
            _dated(request, "lt", _day_start(request.date_to + timedelta(days=1)))
        )
    if request.language:
        responses = responses.filter(language=request.language)
    by_variable: dict[str, tuple[SurveyVariable, list[str]]] = {}
    for variable, code in request.filters:
        by_variable.setdefault(variable.name, (variable, []))[1].append(code)
    for variable, codes in by_variable.values():
        responses = responses.filter(
            variable_matches(survey=request.survey, variable=variable, codes=codes)
        )
    return responses.order_by()


def _day_start(day: date) -> datetime:
    """Midnight starting `day` in the current time zone, as `__date` lookups see days."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _dated(request: StatisticsRequest, lookup: str, moment: datetime) -> Q:
    """Submitted (or, not submitted, started) on the `lookup` side of `moment`.

    Compared as timestamps rather than dates so that the index on submitted_at can serve it; a
    complete response always has submitted_at (a check constraint), so the fallback to the start
    is left out for complete ones, which keeps the condition simple for the planner.
    """
    submitted = Q(**{f"submitted_at__{lookup}": moment})
    if request.status == "complete":
        return submitted
    return submitted | Q(submitted_at__isnull=True, **{f"started_at__{lookup}": moment})


# --- reading values -----------------------------------------------------------------------------


def _category(value: Any) -> str | None:
    """A categorical value as the string code the value labels use; None when missing."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _number(value: Any, likert: bool) -> float | None:
    if value is None or value == "":
        return None
    if likert:  # Likert codes are the scale points; "na" (not applicable) is missing
        try:
            return float(Decimal(str(value)))
        except InvalidOperation:
            return None
    return float(value)


def _sql_countable(variable: SurveyVariable) -> bool:
    if not (variable.source and variable.categorical):
        return False
    origin = variable.source[0]
    # A multiple-choice flag needs JSON containment, which SQLite's JSON fields do not offer.
    return origin in _SQL_ORIGINS or (origin == "flag" and connection.vendor == "postgresql")


Codes = tuple[str | None, ...]


def _sql_counts(
    responses: QuerySet[Response],
    variables: Sequence[SurveyVariable],
    extra: Sequence[str] = (),
) -> list[tuple[Codes, int]]:
    """[((code of each variable, or None), number of responses)] grouped in the database.

    `extra` names further columns of `responses` (fields or annotations) to group by; their
    values, as strings, follow the variables' codes.
    """
    annotations: dict[str, Any] = {}
    flags: dict[str, Any] = {}
    columns: list[str] = []
    for position, variable in enumerate(variables):
        origin = variable.source[0]
        if origin == "response":
            columns.append(variable.source[1])
            continue
        alias = f"v{position}"
        if origin == "flag":
            # As response_rows reads it: 1 when the option is among the answer's choices, 0 when
            # the question was answered without it, missing when it was not answered.
            annotations[alias] = FilteredRelation(
                "answers", condition=Q(answers__question_id=variable.source[1], answers__row="")
            )
            flags[f"f{position}"] = Case(
                When(**{f"{alias}__choices__contains": [variable.source[2]]}, then=Value("1")),
                When(**{f"{alias}__id__isnull": False}, then=Value("0")),
                default=Value(None),
                output_field=CharField(),
            )
            columns.append(f"f{position}")
            continue
        question_id, row = variable.source[1], variable.source[2]
        annotations[alias] = FilteredRelation(
            "answers", condition=Q(answers__question_id=question_id, answers__row=row)
        )
        # Yes/no answers are booleans, every other categorical answer a choice code.
        columns.append(f"{alias}__boolean" if variable.boolean else f"{alias}__choice")
    # COUNT(*), not COUNT(DISTINCT id): a response has at most one answer per question and row
    # (a unique constraint), so each join adds at most one row per response and nothing repeats.
    columns += extra
    grouped = (
        responses.annotate(**annotations).annotate(**flags).values(*columns).annotate(n=Count("*"))
    )
    return [
        (tuple(_category(row[name]) for name in columns), int(row["n"]))
        for row in grouped.order_by()
    ]


def store_selection(*, request: StatisticsRequest) -> Selection | None:
    """The request's responses as the analytics store selects them; None when it cannot (a
    status other than complete, a filter on a derived variable)."""
    if request.status != Response.Status.COMPLETE:
        return None
    by_variable: dict[str, tuple[SurveyVariable, list[str]]] = {}
    for variable, code in request.filters:
        by_variable.setdefault(variable.name, (variable, []))[1].append(code)
    if any(
        v.source[:1] not in {("answer",), ("flag",), ("response",)} for v, _ in by_variable.values()
    ):
        return None
    return Selection(
        submitted_from=_day_start(request.date_from) if request.date_from else None,
        submitted_before=(
            _day_start(request.date_to + timedelta(days=1)) if request.date_to else None
        ),
        language=request.language or None,
        filters=tuple(
            (Wanted(v.source, v.boolean), tuple(codes)) for v, codes in by_variable.values()
        ),
    )


def grouped_counts(
    *,
    survey: Survey,
    responses: QuerySet[Response],
    variables: Sequence[SurveyVariable],
    selection: Selection | None = None,
) -> list[tuple[Codes, int]]:
    """Responses counted by their codes of `variables`: in SQL where it can, else read in Python.

    Codes are strings ("1"/"0" for yes/no answers and flags), None where a value is missing. The
    rest of a frequency table or cross-tabulation works on these groups, so its cost grows with
    the number of cells, not of respondents; the API and the dashboard both count through here.
    `selection`, when given, says which complete responses `responses` are, so that the survey's
    analytics store can count them in one GROUP BY when it holds every variable and filter.
    """
    if selection is not None and all(v.categorical for v in variables):
        wanted = [Wanted(v.source, v.boolean) for v in variables]
        stored = analytics_counts(survey_id=survey.pk, variables=wanted, selection=selection)
        if stored is not None:
            return stored
    if all(_sql_countable(v) for v in variables):
        return _sql_counts(responses, variables)
    counted: Counter[Codes] = Counter()
    for values in _python_rows(survey, responses, variables):
        counted[tuple(_category(value) for value in values)] += 1
    return list(counted.items())


def _python_rows(
    survey: Survey,
    responses: QuerySet[Response],
    variables: Sequence[SurveyVariable],
) -> Iterable[list[Any]]:
    # A variable may be asked for twice (weighting a table by its own variable); response_rows
    # fills one column per source, so each distinct variable is read once and copied.
    distinct = list({v.name: v for v in variables}.values())
    where = {v.name: position for position, v in enumerate(distinct)}
    for _response, values in response_rows(survey=survey, variables=distinct, responses=responses):
        yield [values[where[v.name]] for v in variables]


# --- categories and labels ----------------------------------------------------------------------


def _substantive(code: str | None, variable: SurveyVariable | None) -> str | None:
    """`code`, or None when it is one of the variable's missing codes (don't know, refused...).

    Those answers are missing values in every published figure, as SAV and DTA declare them:
    counted in a table's `missing`, never as a category, and left out of means.
    """
    if variable is None or code not in variable.missing:
        return code
    return None


def _categories(variable: SurveyVariable, present: Iterable[Hashable | None]) -> list[str]:
    seen = {str(value) for value in present if value is not None}
    labelled = [code for code in variable.value_labels if code not in variable.missing]
    if len(labelled) > MAX_LISTED_CATEGORIES:
        ordered = [code for code in labelled if code in seen]
    else:
        ordered = labelled
    known = set(ordered)
    return ordered + sorted(code for code in seen if code not in known)


def variable_description(*, variable: SurveyVariable, lang: str) -> dict[str, Any]:
    """A variable's name, kind and label and its value labels in `lang`."""
    return {
        "name": variable.name,
        "label": variable.label_in(lang),
        "kind": variable.kind,
        "measure": variable.measure,
        "categorical": variable.categorical,
        "value_labels": {
            code: translate(texts, lang) for code, texts in variable.value_labels.items()
        },
        "missing_codes": sorted(variable.missing),
    }


def _ci(low: float | None, high: float | None) -> list[float] | None:
    return None if low is None or high is None else [low, high]


def _labelled_frequency(
    table: FrequencyTable, variable: SurveyVariable, lang: str
) -> dict[str, Any]:
    data = table.as_dict()
    for cell in data["cells"]:
        cell["code"] = cell["category"]
        cell["label"] = variable.value_label(cell["category"], lang)
        cell["ci"] = _ci(cell["ci_low"], cell["ci_high"])
    return data


def _labelled_crosstab(
    table: CrossTable, rows: SurveyVariable, cols: SurveyVariable, lang: str
) -> dict[str, Any]:
    data = table.as_dict()
    data["row_variable"] = rows.name
    data["col_variable"] = cols.name
    for line in data["cells"]:
        for cell in line:
            cell["row_label"] = rows.value_label(cell["row"], lang)
            cell["col_label"] = cols.value_label(cell["col"], lang)
            cell["code"] = cell["col"]
            cell["label"] = cell["col_label"]
            cell["ci"] = _ci(cell["ci_low"], cell["ci_high"])
    for total in data["row_totals"]:
        total["label"] = rows.value_label(total["row"], lang)
        total["ci"] = _ci(total["ci_low"], total["ci_high"])
    for total in data["col_totals"]:
        total["label"] = cols.value_label(total["col"], lang)
        total["ci"] = _ci(total["ci_low"], total["ci_high"])
    return data


def _hidden(count: int, k: int) -> bool:
    return 0 < count < k


# --- the statistics -----------------------------------------------------------------------------


@dataclass
class _Columns:
    """Per-response values of the request's variables (Python path)."""

    main: list[Any] = field(default_factory=list)
    by: list[Any] = field(default_factory=list)
    strata: list[str | None] = field(default_factory=list)


def _read_columns(request: StatisticsRequest, responses: QuerySet[Response]) -> _Columns:
    wanted = [request.variable]
    if request.by:
        wanted.append(request.by)
    if request.weights:
        wanted.append(request.weights)
    columns = _Columns()
    likert = _is_likert(request.variable)
    missing = request.variable.missing  # don't know, refused...: as SAV and DTA declare them
    for values in _python_rows(request.survey, responses, wanted):
        value = values[0]
        if request.stat == "mean":
            columns.main.append(None if str(value) in missing else _number(value, likert))
        else:
            columns.main.append(_substantive(_category(value), request.variable))
        position = 1
        if request.by:
            columns.by.append(_substantive(_category(values[position]), request.by))
            position += 1
        if request.weights:
            columns.strata.append(_category(values[position]))
    return columns


def _weights_for(
    request: StatisticsRequest, columns: _Columns
) -> tuple[list[int], list[float] | None, int]:
    """(positions kept, their weights or None, responses left out for a missing stratum)."""
    everyone = list(range(len(columns.main)))
    if not request.weights:
        return everyone, None, 0
    kept = [i for i in everyone if columns.strata[i] is not None]
    strata = [columns.strata[i] for i in kept]
    if not strata:
        raise StatisticsInputError(
            "weights", f"No response in the selection has a value of {request.weights.name!r}."
        )
    try:
        weights = poststratification_weights(strata, request.targets)  # type: ignore[arg-type]
    except ValueError as error:
        raise StatisticsInputError("targets", f"Cannot weight: {error}.") from error
    return kept, weights, len(everyone) - len(kept)


def _weight_factors(
    request: StatisticsRequest, groups: Sequence[tuple[Codes, int]]
) -> dict[str, float]:
    """Post-stratification weight of each stratum (the last code of each group)."""
    assert request.weights is not None
    strata: Counter[str] = Counter()
    for codes, n in groups:
        if codes[-1] is not None:
            strata[codes[-1]] += n
    if not strata:
        raise StatisticsInputError(
            "weights", f"No response in the selection has a value of {request.weights.name!r}."
        )
    try:
        return poststratification_factors(strata, request.targets)
    except ValueError as error:
        raise StatisticsInputError("targets", f"Cannot weight: {error}.") from error


def _frequencies(request: StatisticsRequest, responses: QuerySet[Response]) -> dict[str, Any]:
    k, lang = request.k, request.lang
    variables = [request.variable] + ([request.by] if request.by else [])
    weighted = request.weights is not None
    groups = grouped_counts(
        survey=request.survey,
        responses=responses,
        variables=variables + ([request.weights] if request.weights else []),
        selection=store_selection(request=request),
    )
    n_total = sum(n for _, n in groups)
    # Cells keyed by the main code (frequency) or by (group code, main code) (crosstab).
    counts: Counter[Any] = Counter()
    weight_sums: dict[Any, float] = {}
    weight_squares: dict[Any, float] = {}
    excluded = 0
    factors = _weight_factors(request, groups) if weighted else {}
    for codes, n in groups:
        if weighted and codes[-1] is None:
            excluded += n  # no stratum, no weight: left out and reported
            continue
        main = _substantive(codes[0], request.variable)
        key = (_substantive(codes[1], request.by), main) if request.by else main
        counts[key] += n
        if weighted:
            factor = factors[codes[-1]]  # type: ignore[index]
            weight_sums[key] = weight_sums.get(key, 0.0) + n * factor
            weight_squares[key] = weight_squares.get(key, 0.0) + n * factor * factor
    sums = (weight_sums, weight_squares) if weighted else (None, None)
    if request.by is None:
        table = frequency_table_from_counts(
            counts,
            weight_sums=sums[0],
            weight_squares=sums[1],
            categories=_categories(request.variable, counts),
            k=k,
        )
        data = _labelled_frequency(table, request.variable, lang)
        parts_hidden = bool(table.total.suppressed or table.missing_suppressed)
    else:
        crosstab = crosstab_from_counts(
            counts,
            weight_sums=sums[0],
            weight_squares=sums[1],
            row_categories=_categories(request.by, (row for row, _ in counts)),
            col_categories=_categories(request.variable, (col for _, col in counts)),
            k=k,
        )
        data = _labelled_crosstab(crosstab, request.by, request.variable, lang)
        parts_hidden = bool(crosstab.total.suppressed or crosstab.missing_suppressed)
    return {
        "table": data,
        "n_total": n_total,
        "excluded": excluded,
        "parts_hidden": parts_hidden,
    }


def _means(request: StatisticsRequest, responses: QuerySet[Response]) -> dict[str, Any]:
    k, lang = request.k, request.lang
    columns = _read_columns(request, responses)
    kept, weights, excluded = _weights_for(request, columns)
    values = [columns.main[i] for i in kept]
    groups_of = [columns.by[i] for i in kept] if request.by else []
    answered = [i for i, value in enumerate(values) if value is not None]
    missing = len(values) - len(answered)

    def estimate(positions: Sequence[int]) -> dict[str, Any]:
        result = mean_interval(
            [values[i] for i in positions],
            [weights[i] for i in positions] if weights is not None else None,
        ).as_dict()
        result["ci"] = _ci(result["low"], result["high"])
        result["suppressed"] = False
        return result

    def hidden_estimate() -> dict[str, Any]:
        return {
            "mean": None, "low": None, "high": None, "ci": None, "n": None, "sd": None,
            "n_effective": None, "confidence": 0.95, "weighted": weights is not None,
            "suppressed": True,
        }  # fmt: skip

    groups: list[dict[str, Any]] = []
    overall_hidden = _hidden(len(answered), k)
    if request.by is not None:
        # Respondents without a group are missing here too, as in a cross-tabulation.
        answered = [i for i in answered if groups_of[i] is not None]
        missing = len(values) - len(answered)
        codes = _categories(request.by, [groups_of[i] for i in answered])
        members = {code: [i for i in answered if groups_of[i] == code] for code in codes}
        sizes = np.asarray([len(members[code]) for code in codes], dtype=np.int64)
        # A group mean is a disclosure like a cell count: same rule, same complementary step.
        mask = suppress_one_way(sizes, k=k)
        overall_hidden = bool(mask.total)
        for position, code in enumerate(codes):
            entry = hidden_estimate() if mask.cells[position] else estimate(members[code])
            groups.append({"code": code, "label": request.by.value_label(code, lang), **entry})
    overall = hidden_estimate() if overall_hidden else estimate(answered)
    missing_hidden = _hidden(missing, k)
    return {
        "table": {
            "kind": "means",
            "weighted": weights is not None,
            "k": k,
            "confidence": 0.95,
            "groups": groups,
            "overall": overall,
            "missing": None if missing_hidden else missing,
            "missing_suppressed": missing_hidden,
        },
        "n_total": len(values) + excluded,
        "excluded": excluded,
        # Group sizes add up to the published overall n, so only these two could leak through n.
        "parts_hidden": overall_hidden or missing_hidden,
    }


def statistics_compute(*, request: StatisticsRequest) -> dict[str, Any]:
    """The statistics a request asks for, as a JSON-able dict (tables: `estimators`).

    Raises StatisticsInputError for requests the data cannot answer (such as weights whose
    targets miss a stratum present in the data).
    """
    responses = statistics_responses(request=request)
    if request.stat == "mean":
        result = _means(request, responses)
    else:
        result = _frequencies(request, responses)
    return statistics_envelope(request=request, result=result)


def statistics_envelope(*, request: StatisticsRequest, result: dict[str, Any]) -> dict[str, Any]:
    """The answer around a computed table: the request's echo, n, k and the weighting.

    `result` holds the table, n_total, excluded and parts_hidden, and may decide n_hidden and
    excluded_hidden itself (the rules for callers without raw access do).
    """
    k = request.k
    n_total, excluded = result["n_total"], result["excluded"]
    excluded_hidden = result.get("excluded_hidden", _hidden(excluded, k))
    # n is published only when no suppressed figure could be recovered from it by subtraction.
    n_hidden = result.get(
        "n_hidden", _hidden(n_total, k) or result["parts_hidden"] or excluded_hidden
    )
    k_note = ""
    if request.k_requested is not None and request.k_requested < k:
        k_note = (
            f"The requested k ({request.k_requested}) is below this survey's minimum cell size; "
            f"k was raised to {k}."
        )
    lang = request.lang
    filters: dict[str, Any] = {
        "status": request.status,
        "from": request.date_from.isoformat() if request.date_from else None,
        "to": request.date_to.isoformat() if request.date_to else None,
        "language": request.language,
        "filter": [
            {"variable": v.name, "code": code, "label": v.value_label(code, lang)}
            for v, code in request.filters
        ],
    }
    weighting = None
    if request.weights is not None:
        weighting = {
            "variable": request.weights.name,
            "targets": request.targets,
            "excluded": None if excluded_hidden else excluded,
            "excluded_suppressed": excluded_hidden,
        }
    return {
        "survey": request.survey.slug,
        "stat": request.stat,
        "lang": lang,
        "variable": variable_description(variable=request.variable, lang=lang),
        "by": variable_description(variable=request.by, lang=lang) if request.by else None,
        "filters": filters,
        "n": None if n_hidden else n_total,
        "n_suppressed": n_hidden,
        "k": k,
        "k_requested": request.k_requested,
        "k_note": k_note,
        "weighted": request.weights is not None,
        "weighting": weighting,
        "table": result["table"],
        # A provider's own estimates over all of the survey's answers (not filtered): for the
        # classifier's categories, shares corrected by the human-coded audit sample (PPI).
        "estimates": None if n_hidden else provider_estimates(request.survey, request.variable),
    }
