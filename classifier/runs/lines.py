"""Classification variables of a multiple-short-text question: one per line, and exposure scores.

Each line of such a question is its own answer (row "1".."n") and is classified on its own, so a
response gets a category and a confidence per line (`cls_<question>_<codebook>_<n>`). For a
codebook coded E0/E1/E2 (task-exposure) it also gets the respondent's exposure from the lines
coded: `<question>_n_coded`, `<question>_alpha`, `_beta` and `_gamma`
(`surveys.reference.exposure`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from classifier.models import Category, Codebook
from surveys.models import Question
from surveys.reference.exposure import EXPOSURE_CODES, exposure_scores
from surveys.variables.catalogue import SurveyVariable

Labeller = Callable[[dict[str, str]], dict[str, str]]
PROVIDER = "classification"

# Labels of the scores: the codebook's name, then these (short: Stata keeps 80 characters).
EXPOSURE_LABELS: dict[str, dict[str, str]] = {
    "n_coded": {"en": ": tasks coded", "zh-hans": "：已编码任务数"},
    "alpha": {"en": ": alpha (share of tasks E1)", "zh-hans": "：alpha（E1 任务占比）"},
    "beta": {
        "en": ": beta ((E1 + 0.5 x E2) / tasks)",
        "zh-hans": "：beta（(E1 + 0.5 × E2) / 任务数）",
    },
    "gamma": {"en": ": gamma ((E1 + E2) / tasks)", "zh-hans": "：gamma（(E1 + E2) / 任务数）"},
}


def is_exposure_codebook(categories: Iterable[Category]) -> bool:
    """The codebook's categories are the exposure rubric's E0, E1 and E2."""
    return {c.code for c in categories} == set(EXPOSURE_CODES)


def line_variables(
    question: Question, codebook: Codebook, categories: list[Category], label: Labeller
) -> list[SurveyVariable]:
    """A category and a confidence per line, then exposure scores for an E0/E1/E2 codebook."""
    base = f"cls_{question.code}_{codebook.slug.replace('-', '_')}"
    group = f"{question.code}:{codebook.slug}"
    out: list[SurveyVariable] = []
    for number in range(1, question.item_count + 1):
        line = str(number)
        out += [
            SurveyVariable(
                f"{base}_{line}",
                label({"en": f" (line {line})", "zh-hans": f"（第 {line} 行）"}),
                "categorical",
                value_labels={c.code: c.label for c in categories},
                definitions={c.code: c.definition for c in categories},
                source=(PROVIDER, "label", question.pk, codebook.pk, line),
                group=group,
            ),
            SurveyVariable(
                f"{base}_{line}_conf",
                label(
                    {"en": f" (line {line}, confidence)", "zh-hans": f"（第 {line} 行，置信度）"}
                ),
                "numeric",
                measure="scale",
                source=(PROVIDER, "confidence", question.pk, codebook.pk, line),
                group=group,
            ),
        ]
    if is_exposure_codebook(categories):
        out += [
            SurveyVariable(
                f"{question.code}_{measure}",  # short enough for Stata's 32 characters
                {
                    lang: f"{codebook.name.get(lang, codebook.slug)}{suffix[lang]}"
                    for lang in ("en", "zh-hans")
                },
                "numeric",
                measure="scale",
                source=(PROVIDER, "exposure", question.pk, codebook.pk, measure),
                group=group,
            )
            for measure, suffix in EXPOSURE_LABELS.items()
        ]
    return out


def is_line_variable(variable: SurveyVariable) -> bool:
    """The category or confidence of one line (its source ends with the line's row)."""
    return variable.source[1] in ("label", "confidence") and len(variable.source) > 4


def fill_line_value(
    values: dict[str, Any], variable: SurveyVariable, row: str, labels: list[str], confidence: Any
) -> None:
    """Set a per-line variable from the classification of line `row` (others are left alone)."""
    if variable.source[4] != row:
        return
    if variable.source[1] == "label":
        values[variable.name] = labels[0] if labels else None
    elif variable.source[1] == "confidence":
        values[variable.name] = confidence


def fill_exposure(
    values: dict[str, Any], variables: list[SurveyVariable], labels: list[str | None]
) -> None:
    """Set the exposure variables from the labels of a response's coded lines."""
    scores = exposure_scores(labels)
    for variable in variables:
        measure = "n" if variable.source[4] == "n_coded" else variable.source[4]
        values[variable.name] = None if scores is None else getattr(scores, measure)
