"""Respondents' own exposure beside the occupations' reference, per ISCO-08 group.

Respondents' alpha, beta and gamma are the derived variables `<question>_alpha`, `_beta`,
`_gamma` of a classified multiple-short-text question (each line coded E0/E1/E2 by the
task-exposure codebook). Their means by occupation, with 95% intervals, weights and disclosure
control, are the statistics API's own (`statistics_compute` with `stat=mean`); the reference is
the paper's human-rated scores (`surveys.reference.exposure.reference_scores`).

Beside each row, two things about the task codes behind it:

- `provisional`: the share of the row's coded tasks whose code is a model label that is not final
  yet (`<question>_n_provisional` over `<question>_n_coded`, both means under the same
  suppression as the scores), and whether there are any.
- `corrected` (callers who get estimates only, as the statistics API's `estimates`): the mean
  alpha, beta and gamma corrected by the survey's audit sample (prediction-powered inference), from
  the provider of the scores through `provider_estimates` with the table's respondents and
  occupation groups; never a naive figure in disguise: `estimates.available` is False, with the
  reason, where the audit has no coded items.
"""

from __future__ import annotations

from typing import Any

from surveys.models import Answer, Question, Survey
from surveys.reference.exposure import MEASURES, ReferenceScores, reference_scores
from surveys.statistics.requests import (
    StatisticsInputError,
    StatisticsRequest,
    statistics_request_build,
)
from surveys.statistics.selectors import statistics_compute, statistics_responses
from surveys.variables.catalogue import EstimateScope, provider_estimates, survey_variables

REFERENCE_SOURCE = (
    "Eloundou, Manning, Mishkin & Rock (2023), 'GPTs are GPTs': human-rated exposure of the "
    "O*NET occupations under each group's SOC 2018 codes (mean per SOC code, then unweighted "
    "mean over the group's codes)."
)


def exposure_questions(*, survey: Survey) -> list[str]:
    """Codes of the survey's questions with exposure scores (`<code>_alpha` exists)."""
    names = {v.name for v in survey_variables(survey=survey)}
    codes = Question.objects.filter(
        survey=survey, type=Question.Type.MULTIPLE_SHORT_TEXT, classify=True
    ).values_list("code", flat=True)
    return [code for code in codes if f"{code}_alpha" in names]


def _occupation_variable(survey: Survey) -> str:
    code = (
        Question.objects.filter(survey=survey, type=Question.Type.OCCUPATION)
        .order_by("page__position", "position")
        .values_list("code", flat=True)
        .first()
    )
    if code is None:
        raise StatisticsInputError("by", "This survey has no occupation question.")
    return code


def _question(survey: Survey, question: str | None) -> str:
    available = exposure_questions(survey=survey)
    if not available:
        raise StatisticsInputError(
            "question",
            "This survey has no task question with exposure scores (a classified multiple "
            "short text question coded by the task-exposure codebook).",
        )
    if question is None:
        return available[0]
    if question not in available:
        raise StatisticsInputError(
            "question", f"Unknown task question {question!r}; choose one of {available}."
        )
    return question


def reference_entry(scores: ReferenceScores | None) -> dict[str, Any] | None:
    """The reference of one ISCO-08 group as published (None when the group has none)."""
    if scores is None:
        return None
    return {
        **{m: getattr(scores, m) for m in MEASURES},
        "range": {m: list(scores.ranges[m]) for m in MEASURES},
        "soc": list(scores.soc),
        "occupations": scores.occupations,
    }


COUNTS = ("n_coded", "n_provisional")
NO_AUDIT = (
    "The audit correction is unavailable: no audit of these task codes exists for this survey."
)
WEIGHTED = (
    "The audit correction is computed for unweighted means only; ask without weights to see it."
)


def exposure_compare(
    *, survey: Survey, question: str | None = None, corrected: bool = False, **options: Any
) -> dict[str, Any]:
    """Respondents' mean alpha/beta/gamma per occupation group beside the reference.

    Each row also says how many of its task codes are provisional; with `corrected` (callers who
    may read the raw responses) the audit-corrected means stand beside the naive ones.
    `options` are those of `statistics_request_build` (status, dates, language, filters, k,
    weights, targets, lang). Raises StatisticsInputError for what the data cannot answer.
    """
    code = _question(survey, question)
    by = _occupation_variable(survey)
    requests = {
        name: statistics_request_build(
            survey=survey, variable=f"{code}_{name}", by=by, stat="mean", **options
        )
        for name in (*MEASURES, *COUNTS)
    }
    results = {name: statistics_compute(request=request) for name, request in requests.items()}
    first = results[MEASURES[0]]
    references = reference_scores()
    by_code = {
        name: {group["code"]: group for group in result["table"]["groups"]}
        for name, result in results.items()
    }
    estimates = _estimates(requests[MEASURES[0]]) if corrected else None
    groups = []
    for group in first["table"]["groups"]:
        measured = {m: _estimate(by_code[m].get(group["code"], {})) for m in MEASURES}
        groups.append(
            {
                "code": group["code"],
                "label": group["label"],
                "respondents": measured,
                "provisional": _provisional(*(by_code[c].get(group["code"], {}) for c in COUNTS)),
                "corrected": _corrected(estimates, measured, group["code"]),
                "reference": reference_entry(references.get(group["code"])),
            }
        )
    overall = {m: _estimate(results[m]["table"]["overall"]) for m in MEASURES}
    return {
        "survey": survey.slug,
        "question": code,
        "by": by,
        "k": first["k"],
        "weighted": first["weighted"],
        "weighting": first["weighting"],
        "overall": overall,
        "provisional": _provisional(*(results[c]["table"]["overall"] for c in COUNTS)),
        "corrected": _corrected(estimates, overall, None),
        "groups": groups,
        "estimates": _envelope(estimates),
        "reference_source": REFERENCE_SOURCE,
    }


def _provisional(coded: dict[str, Any], provisional: dict[str, Any]) -> dict[str, Any] | None:
    """The share of a row's coded tasks that are provisional (None where the row is hidden)."""
    tasks, not_final = coded.get("mean"), provisional.get("mean")
    if coded.get("suppressed") or provisional.get("suppressed") or not tasks:
        return None
    share = (not_final or 0.0) / tasks
    return {"share": share, "any": share > 0}


def _estimates(request: StatisticsRequest) -> dict[str, Any]:
    """The provider's audit-corrected means over the request's respondents and groups."""
    if request.weights is not None:
        return {"available": False, "reason": WEIGHTED}
    assert request.by is not None  # the occupation question
    responses = statistics_responses(request=request)
    occupations = dict(
        Answer.objects.filter(response__in=responses, question_id=request.by.source[1], row="")
        .exclude(choice="")
        .values_list("response_id", "choice")
    )
    estimates = provider_estimates(
        request.survey, request.variable, EstimateScope(responses, occupations)
    )
    return estimates or {"available": False, "reason": NO_AUDIT}


def _corrected(
    estimates: dict[str, Any] | None, published: dict[str, dict[str, Any]], group: str | None
) -> dict[str, Any] | None:
    """A row's corrected means: only where estimates are given and the row is published."""
    if not estimates or not estimates.get("available"):
        return None
    if any(entry["suppressed"] or entry["mean"] is None for entry in published.values()):
        return None
    figures = estimates["overall"] if group is None else estimates["groups"].get(group)
    if figures is None:
        return None
    return {m: _corrected_entry(figures[m]) for m in MEASURES}


def _corrected_entry(figure: dict[str, Any]) -> dict[str, Any]:
    return {
        "mean": figure["estimate"],
        "low": figure["low"],
        "high": figure["high"],
        "n": figure["units"],
        "audited": figure["audited"],
    }


def _envelope(estimates: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the answer says about the correction as a whole (None: not given to this caller)."""
    if estimates is None:
        return None
    keys = ("method", "confidence", "available", "reason", "audited_tasks", "audit")
    return {key: estimates.get(key) for key in keys}


def _estimate(entry: dict[str, Any]) -> dict[str, Any]:
    keys = ("mean", "low", "high", "n", "suppressed")
    return {key: entry.get(key) for key in keys}
