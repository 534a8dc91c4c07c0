"""Classification variables of a multiple-short-text question: one per line, and exposure scores.

Each line of such a question is its own answer (row "1".."n") and is classified on its own, so a
response gets a category and a confidence per line (`cls_<question>_<codebook>_<n>`). For a
codebook coded E0/E1/E2 (task-exposure) it also gets the respondent's exposure from the lines
coded: `<question>_n_coded`, `<question>_alpha`, `_beta` and `_gamma`
(`surveys.reference.exposure`), and `<question>_n_provisional`: how many of those codes are
model labels not (yet) final (`line_is_provisional`).

`exposure_estimates` corrects the mean scores with the survey's audit sample: prediction-powered
inference over the model's labels of every task and the coders' labels of the audited ones
(`classifier.pipeline.ppi.ppi_unit_mean`), overall and per group of respondents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from classifier.audit.selectors import audit_summary
from classifier.models import Category, Classification, Codebook
from classifier.pipeline.ppi import ppi_unit_mean
from surveys.models import Question
from surveys.reference.exposure import EXPOSURE_CODES, MEASURES, exposure_scores, task_score
from surveys.variables.catalogue import EstimateScope, SurveyVariable

Labeller = Callable[[dict[str, str]], dict[str, str]]
PROVIDER = "classification"

# Labels of the scores: the codebook's name, then these (short: Stata keeps 80 characters).
EXPOSURE_LABELS: dict[str, dict[str, str]] = {
    "n_coded": {"en": ": tasks coded", "zh-hans": "：已编码任务数"},
    "n_provisional": {
        "en": ": tasks coded provisionally (model label, not final)",
        "zh-hans": "：暂定编码的任务数（模型标签，尚非最终）",
    },
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


# A line of a task question as the scores see it: (its current code, whether it is provisional).
Line = tuple[str | None, bool]
_NOT_FINAL = {Classification.ReviewStatus.PROVISIONAL, Classification.ReviewStatus.NEEDS_REVIEW}


def line_is_provisional(*, source: str, review_status: str) -> bool:
    """A model label that is not a final code: the survey's audit cannot vouch for it yet
    (`provisional`), or it waits for a coder (`needs_review`). Coders' codes and auto-codes under
    a sufficient audit are final."""
    return source == Classification.Source.MODEL and review_status in _NOT_FINAL


def fill_exposure(
    values: dict[str, Any], variables: list[SurveyVariable], lines: Sequence[Line]
) -> None:
    """Set the exposure variables from a response's coded lines."""
    scores = exposure_scores(label for label, _provisional in lines)
    provisional = sum(1 for label, flag in lines if flag and label in EXPOSURE_CODES)
    for variable in variables:
        measure = variable.source[4]
        if scores is None:
            values[variable.name] = None
        elif measure == "n_provisional":
            values[variable.name] = provisional
        else:
            values[variable.name] = getattr(scores, "n" if measure == "n_coded" else measure)


_UNAVAILABLE = (
    "No audited task of these respondents is coded yet: the correction needs at least two "
    "(coders code the survey's audit sample blind in the review queue)."
)


def _exposure_lines(
    *, survey_id: int, question_id: int, codebook: Codebook, scope: EstimateScope
) -> list[tuple[int, str, str | None]]:
    """(response id, the model's code, the coder's code of an audited line or None) per line."""
    rows = Classification.objects.filter(
        answer__response__survey_id=survey_id,
        answer__question_id=question_id,
        answer__response_id__in=scope.responses.values("pk"),
        codebook=codebook,
        status=Classification.Status.DONE,
        model_version__isnull=False,
    ).values_list("answer__response_id", "model_labels", "labels", "audit", "source")
    lines = []
    for response_id, model_labels, labels, audit, source in rows.iterator(chunk_size=5000):
        predicted = model_labels[0] if model_labels else None
        if predicted not in EXPOSURE_CODES:
            continue
        audited = audit and source == Classification.Source.CODER and labels
        truth = labels[0] if audited and labels[0] in EXPOSURE_CODES else None
        lines.append((response_id, predicted, truth))
    return lines


def _corrected(lines: Sequence[tuple[int, str, str | None]]) -> dict[str, Any]:
    units = [unit for unit, _f, _y in lines]
    return {
        measure: ppi_unit_mean(
            units,
            [task_score(f, measure) or 0.0 for _u, f, _y in lines],
            [task_score(y, measure) for _u, _f, y in lines],
        ).as_dict()
        for measure in MEASURES
    }


def exposure_estimates(
    *, survey_id: int, question_id: int, codebook: Codebook, scope: EstimateScope
) -> dict[str, Any]:
    """Audit-corrected (PPI) mean alpha, beta, gamma of the scope's respondents, and per group.

    Over every task the model coded (its own label, whatever a coder later said) corrected by the
    coders' labels of the audited tasks. `available` is False, with the `reason`, where the
    scope holds fewer than two coded audit tasks: the figures are then None, never the naive ones.
    """
    lines = _exposure_lines(
        survey_id=survey_id, question_id=question_id, codebook=codebook, scope=scope
    )
    audited = sum(1 for _u, _f, y in lines if y is not None)
    by_group: dict[str, list[tuple[int, str, str | None]]] = {}
    for line in lines:
        group = scope.groups.get(line[0])
        if group is not None:
            by_group.setdefault(group, []).append(line)
    return {
        "method": "ppi",
        "confidence": 0.95,
        "available": audited >= 2,
        "reason": "" if audited >= 2 else _UNAVAILABLE,
        "audited_tasks": audited,
        "audit": audit_summary(survey_id=survey_id, codebook=codebook).as_dict(),
        "overall": _corrected(lines),
        "groups": {group: _corrected(members) for group, members in by_group.items()},
    }
