"""Respondents' own exposure beside the occupations' reference, per ISCO-08 group.

Respondents' alpha, beta and gamma are the derived variables `<question>_alpha`, `_beta`,
`_gamma` of a classified multiple-short-text question (each line coded E0/E1/E2 by the
task-exposure codebook). Their means by occupation, with 95% intervals, weights and disclosure
control, are the statistics API's own (`statistics_compute` with `stat=mean`); the reference is
the paper's human-rated scores (`surveys.reference.exposure.reference_scores`).
"""

from __future__ import annotations

from typing import Any

from surveys.models import Question, Survey
from surveys.reference.exposure import MEASURES, ReferenceScores, reference_scores
from surveys.statistics.requests import StatisticsInputError, statistics_request_build
from surveys.statistics.selectors import statistics_compute
from surveys.variables.catalogue import survey_variables

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


def exposure_compare(
    *, survey: Survey, question: str | None = None, **options: Any
) -> dict[str, Any]:
    """Respondents' mean alpha/beta/gamma per occupation group beside the reference.

    `options` are those of `statistics_request_build` (status, dates, language, filters, k,
    weights, targets, lang). Raises StatisticsInputError for what the data cannot answer.
    """
    code = _question(survey, question)
    by = _occupation_variable(survey)
    results = {
        measure: statistics_compute(
            request=statistics_request_build(
                survey=survey, variable=f"{code}_{measure}", by=by, stat="mean", **options
            )
        )
        for measure in MEASURES
    }
    first = results[MEASURES[0]]
    references = reference_scores()
    by_code = {
        m: {group["code"]: group for group in results[m]["table"]["groups"]} for m in MEASURES
    }
    groups = []
    for group in first["table"]["groups"]:
        measured = {m: _estimate(by_code[m].get(group["code"], {})) for m in MEASURES}
        groups.append(
            {
                "code": group["code"],
                "label": group["label"],
                "respondents": measured,
                "reference": reference_entry(references.get(group["code"])),
            }
        )
    return {
        "survey": survey.slug,
        "question": code,
        "by": by,
        "k": first["k"],
        "weighted": first["weighted"],
        "weighting": first["weighting"],
        "overall": {m: _estimate(results[m]["table"]["overall"]) for m in MEASURES},
        "groups": groups,
        "reference_source": REFERENCE_SOURCE,
    }


def _estimate(entry: dict[str, Any]) -> dict[str, Any]:
    keys = ("mean", "low", "high", "n", "suppressed")
    return {key: entry.get(key) for key in keys}
