"""A statistics request: the API's parameters resolved against a survey, or a clear error.

`statistics_request_build` turns names (variables, filters, weights) into `SurveyVariable`s and
checks every combination the statistics cannot answer, raising `StatisticsInputError` naming the
parameter at fault; the selectors then take a `StatisticsRequest` that is known to be sound.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from django.conf import settings

from surveys.models import Survey
from surveys.statistics.estimators import MIN_K
from surveys.variables.catalogue import SurveyVariable, survey_variables

Stat = Literal["count", "mean"]
StatusChoice = Literal["complete", "in_progress", "all"]
Resolve = Callable[[str, str], SurveyVariable]


class StatisticsInputError(ValueError):
    """A statistics request that cannot be answered; `field` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class StatisticsRequest:
    """A statistics request with every name resolved against the survey."""

    survey: Survey
    variable: SurveyVariable
    by: SurveyVariable | None = None
    stat: Stat = "count"
    status: StatusChoice = "complete"
    date_from: date | None = None
    date_to: date | None = None
    language: str | None = None
    filters: tuple[tuple[SurveyVariable, str], ...] = ()
    k_requested: int | None = None
    weights: SurveyVariable | None = None
    targets: dict[str, float] = field(default_factory=dict)
    lang: str = "en"

    @property
    def k(self) -> int:
        """The suppression threshold: the request's, raised to the survey's minimum."""
        return max(self.k_requested or 0, self.survey.min_cell_size, MIN_K)


# --- resolving names ----------------------------------------------------------------------------


def _unknown_variable(name: str, variables: Sequence[SurveyVariable], survey: Survey) -> str:
    names = [v.name for v in variables]
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (
        f"Unknown variable {name!r}.{hint} The survey's variables are listed under 'variables' "
        f"in GET /api/v1/surveys/{survey.slug}/."
    )


def _is_likert(variable: SurveyVariable) -> bool:
    return variable.kind == "categorical" and variable.measure == "ordinal"


def _main_variable(main: SurveyVariable, stat: Stat) -> SurveyVariable:
    if main.kind in {"text", "datetime"}:
        raise StatisticsInputError(
            "variable",
            f"{main.name!r} is a {main.kind} variable; statistics need a categorical variable "
            "(counts) or a numeric or Likert variable (stat=mean).",
        )
    if stat == "mean":
        if not (main.kind == "numeric" or _is_likert(main)):
            raise StatisticsInputError(
                "stat",
                f"stat=mean needs a numeric or Likert variable; {main.name!r} is {main.kind}. "
                "Leave out stat for counts and percentages.",
            )
    elif not main.categorical:
        raise StatisticsInputError(
            "variable",
            f"{main.name!r} is {main.kind}, not categorical: use stat=mean for its mean.",
        )
    return main


def _group_variable(
    resolve: Resolve, by: str | None, main: SurveyVariable
) -> SurveyVariable | None:
    if not by:
        return None
    group = resolve(by, "by")
    if not group.categorical:
        raise StatisticsInputError(
            "by", f"{group.name!r} is {group.kind}; 'by' needs a categorical variable."
        )
    if group.name == main.name:
        raise StatisticsInputError("by", "'by' must name a different variable.")
    return group


def _check_scope(
    survey: Survey,
    date_from: date | None,
    date_to: date | None,
    language: str | None,
    lang: str | None,
) -> None:
    if date_from and date_to and date_from > date_to:
        raise StatisticsInputError("from", f"'from' ({date_from}) is after 'to' ({date_to}).")
    if language is not None and language not in survey.languages:
        raise StatisticsInputError(
            "language",
            f"Unknown language {language!r}; this survey's languages: "
            f"{', '.join(survey.languages)}.",
        )
    if lang is not None and lang not in _output_languages(survey):
        raise StatisticsInputError(
            "lang",
            f"Unknown language {lang!r} for labels; use one of "
            f"{', '.join(sorted(_output_languages(survey)))}.",
        )


def _filters(
    resolve: Resolve, filters: Sequence[tuple[str, str]]
) -> tuple[tuple[SurveyVariable, str], ...]:
    resolved = []
    for name, code in filters:
        target = resolve(name, "filter")
        if not target.categorical:
            raise StatisticsInputError(
                "filter", f"Cannot filter on {name!r}: it is {target.kind}, not categorical."
            )
        if target.value_labels and code not in target.value_labels:
            raise StatisticsInputError(
                "filter",
                f"Unknown code {code!r} for {name!r}; its codes: "
                f"{_codes_text(target.value_labels)}.",
            )
        resolved.append((target, code))
    return tuple(resolved)


def _weighting(
    resolve: Resolve, weights: str | None, targets: dict[str, float] | None
) -> tuple[SurveyVariable | None, dict[str, float]]:
    if not (weights or targets):
        return None, {}
    if not (weights and targets):
        raise StatisticsInputError(
            "weights", "Weighting needs both 'weights' (a variable) and 'targets'."
        )
    variable = resolve(weights, "weights")
    if not variable.categorical:
        raise StatisticsInputError(
            "weights",
            f"The weights variable must be categorical (its categories are the strata); "
            f"{weights!r} is {variable.kind}.",
        )
    unknown = [c for c in targets if c not in variable.value_labels]
    if variable.value_labels and unknown:
        raise StatisticsInputError(
            "targets",
            f"Unknown strata {', '.join(map(repr, unknown))} for {weights!r}; its codes: "
            f"{_codes_text(variable.value_labels)}.",
        )
    _check_shares(targets)
    return variable, dict(targets)


# Shares are relative (normalised to sum 1), so these bounds leave room for proportions and for
# population counts alike, while keeping every weight, and sums of weights, far from the limits
# of a double (1e308 overflows a sum, 1e-200 underflows the variance of a weighted mean).
MIN_TARGET_SHARE = 1e-9
MAX_TARGET_SHARE = 1e12


def _check_shares(targets: dict[str, float]) -> None:
    for code, share in targets.items():
        if not math.isfinite(share) or share < 0:
            raise StatisticsInputError(
                "targets", f"The share of {code!r} must be a finite, non-negative number."
            )
        if share > MAX_TARGET_SHARE:
            raise StatisticsInputError(
                "targets", f"The share of {code!r} is too large: at most {MAX_TARGET_SHARE:g}."
            )
        if 0 < share < MIN_TARGET_SHARE:
            raise StatisticsInputError(
                "targets",
                f"The share of {code!r} is too small: give 0 or at least {MIN_TARGET_SHARE:g}.",
            )
    if sum(targets.values()) <= 0:
        raise StatisticsInputError("targets", "Target shares must sum to a positive number.")


def statistics_request_build(
    *,
    survey: Survey,
    variable: str,
    by: str | None = None,
    stat: Stat = "count",
    status: StatusChoice = "complete",
    date_from: date | None = None,
    date_to: date | None = None,
    language: str | None = None,
    filters: Sequence[tuple[str, str]] = (),
    k: int | None = None,
    weights: str | None = None,
    targets: dict[str, float] | None = None,
    lang: str | None = None,
) -> StatisticsRequest:
    """Resolve the API's names against `survey`; raises StatisticsInputError saying what's wrong."""
    # The survey's own variables first: the providers' (the classifier's categories) are asked
    # only when a name is not among them. Derived variables follow the survey's in the catalogue,
    # so the survey's keep their names either way.
    variables = survey_variables(survey=survey, derived=False)
    by_name = {v.name: v for v in variables}
    with_derived: list[bool] = []

    def resolve(name: str, param: str) -> SurveyVariable:
        if name not in by_name and not with_derived:
            with_derived.append(True)
            variables[:] = survey_variables(survey=survey)
            by_name.update({v.name: v for v in variables})
        found = by_name.get(name)
        if found is None:
            raise StatisticsInputError(param, _unknown_variable(name, variables, survey))
        return found

    main = _main_variable(resolve(variable, "variable"), stat)
    group = _group_variable(resolve, by, main)
    _check_scope(survey, date_from, date_to, language, lang)
    resolved_filters = _filters(resolve, filters)
    if k is not None and k < MIN_K:
        raise StatisticsInputError("k", f"k must be at least {MIN_K}.")
    weight_variable, shares = _weighting(resolve, weights, targets)
    return StatisticsRequest(
        survey=survey,
        variable=main,
        by=group,
        stat=stat,
        status=status,
        date_from=date_from,
        date_to=date_to,
        language=language,
        filters=resolved_filters,
        k_requested=k,
        weights=weight_variable,
        targets=shares,
        lang=lang or survey.default_language,
    )


def _output_languages(survey: Survey) -> set[str]:
    return {*survey.languages, *(code for code, _ in settings.LANGUAGES)}


def _codes_text(labels: dict[str, Any], limit: int = 30) -> str:
    codes = list(labels)
    shown = ", ".join(codes[:limit])
    return shown + (f" … ({len(codes)} codes in all)" if len(codes) > limit else "")


# --- the responses a request covers -------------------------------------------------------------
